# fshost — the two commands a person runs are `make demo` and `make test`.
# Both install what is missing (Debian packages, as root), build, and run.

SHELL := /bin/bash
PREFIX ?= /usr/local
DESTDIR ?=
SWIFT ?= swift

# Every Debian package the project needs: build (headers), tests (real
# servers and tools), demo and benchmark (peers to compare with).
PACKAGES := pkg-config libelf-dev libsqlite3-dev libcurl4-openssl-dev sqlite3 \
            nginx-light procps psmisc util-linux iproute2 time hyperfine \
            resource-agents curl openssl python3 strace \
            libnftables-dev nftables \
            pacemaker-cli-utils libxml2-utils \
            postgresql libpq-dev \
            nfs-ganesha nfs-ganesha-vfs rpcbind nfs-common libnfs-dev libnfs-utils \
            corosync pacemaker

.PHONY: all deps build build-debug test test-cluster demo demo-cluster install install-files bench clean

all: build

## deps: apt-install the missing system packages (idempotent; needs root).
deps:
	@missing=$$(for p in $(PACKAGES); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	  done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  if [ "$$(id -u)" != 0 ]; then echo "make deps: run as root to install:" $$missing >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "system packages: all present"; fi

## build: release build of the host, the admin tool and the plugins.
build: deps
	$(SWIFT) build -c release

build-debug: deps
	$(SWIFT) build --build-tests

## test: every test (unit and integration against real servers), then the two-node cluster test.
test: build-debug
	$(SWIFT) test --skip-build
	Tests/Cluster/test.sh "$$($(SWIFT) build --show-bin-path)"

## test-cluster: fshost's resources fail over between two real Pacemaker nodes (namespaces; ~3 min).
test-cluster: build-debug
	Tests/Cluster/test.sh "$$($(SWIFT) build --show-bin-path)"

## demo: a temporary CDB, real servers, start → monitor (every level) → stop;
## then the cluster paths: the same resources failing over between two Pacemaker nodes.
demo: build
	Tests/Scripts/demo.sh "$$($(SWIFT) build -c release --show-bin-path)"
	Tests/Cluster/demo.sh "$$($(SWIFT) build -c release --show-bin-path)"

## demo-cluster: fshost's resources under two real Pacemaker nodes: failover, shown step by step.
demo-cluster: build
	Tests/Cluster/demo.sh "$$($(SWIFT) build -c release --show-bin-path)"

## bench: fshost against its peers, in one run; writes bench-report.md.
bench: build
	Tests/Bench/run.sh "$$($(SWIFT) build -c release --show-bin-path)" bench-report.md

## install: bin/fshost, libexec/fshost/fshost-admin, lib/fshost/resource_types/<type>.so,
## and per type FailSafe's lib/failsafe/resource_types/<type>/{exclusive,start,stop,monitor,restart}
## (batch mode) and the OCF agent lib/ocf/resource.d/fshost/<type> (fshost ocf): links to
## bin/fshost, which reads its mode from the name it is called by (Sources/fshost/AgentLink.swift).
## The types are the built plugins (`fshost list --names`: test-only ones left
## out); each brings its companions <type>-<name>.so. No per-type edit here.
install: build
	$(MAKE) install-files BIN="$$($(SWIFT) build -c release --show-bin-path)"

## install-files: the copy step of install, from BIN (a products directory), without building.
# Every file is replaced by rename, never overwritten in place: each is
# written under a temporary name in its own directory, then renamed over
# the old one. A running fshost keeps the file it has mapped (a plugin
# overwritten in place under a running action crashes it), and a monitor
# starting meanwhile sees the old file or the new one, never half of one
# and never none. Temporary names (.<name>.tmp.<pid>) do not end in .so,
# so no search ever takes one for a plugin.
install-files:
	@test -n "$(BIN)" || { echo "install-files: set BIN to the products directory" >&2; exit 1; }
	@set -e; bin="$(BIN)"; \
	put() { dir=$$(dirname "$$3"); tmp="$$dir/.$$(basename "$$3").tmp.$$$$"; \
	  install -m "$$1" "$$2" "$$tmp" && mv -f "$$tmp" "$$3" || { rm -f "$$tmp"; exit 1; }; }; \
	install -d -m 0755 $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/libexec/fshost \
	  $(DESTDIR)$(PREFIX)/lib/fshost/resource_types $(DESTDIR)$(PREFIX)/share/fshost; \
	put 0755 "$$bin/fshost" $(DESTDIR)$(PREFIX)/bin/fshost; \
	put 0755 "$$bin/fshost-admin" $(DESTDIR)$(PREFIX)/libexec/fshost/fshost-admin; \
	types=$$(FSHOST_PLUGIN_PATH="$$bin" "$$bin/fshost" list --names) || exit 1; \
	[ -n "$$types" ] || { echo "make install: no resource types built in $$bin" >&2; exit 1; }; \
	for t in $$types; do \
	  for so in "$$bin"/lib$$t.so "$$bin"/lib$$t-*.so; do \
	    [ -e "$$so" ] || continue; n=$$(basename "$$so" .so); \
	    put 0755 "$$so" $(DESTDIR)$(PREFIX)/lib/fshost/resource_types/$${n#lib}.so; \
	  done; \
	done; \
	put 0644 Plugins/Template/Template.swift $(DESTDIR)$(PREFIX)/share/fshost/Template.swift; \
	link() { tmp="$$(dirname "$$2")/.$$(basename "$$2").tmp.$$$$"; \
	  ln -sfn "$$1" "$$tmp" && mv -Tf "$$tmp" "$$2" || { rm -f "$$tmp"; exit 1; }; }; \
	for t in $$types; do \
	  install -d -m 0755 $(DESTDIR)$(PREFIX)/lib/failsafe/resource_types/$$t $(DESTDIR)$(PREFIX)/lib/ocf/resource.d/fshost; \
	  for a in exclusive start stop monitor restart; do \
	    link ../../../../bin/fshost $(DESTDIR)$(PREFIX)/lib/failsafe/resource_types/$$t/$$a; \
	  done; \
	  link ../../../../bin/fshost $(DESTDIR)$(PREFIX)/lib/ocf/resource.d/fshost/$$t; \
	done

clean:
	rm -rf .build bench-report.md
