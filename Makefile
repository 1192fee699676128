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
            corosync pacemaker \
            patchelf man-db \
            nettle-dev

.PHONY: all deps build build-debug test test-cluster demo demo-cluster install install-files deb deb-files bench clean

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

## bench: fshost against its peers, in one run; writes bench-report.md. The core
## section runs the product as shipped: install-files into a temporary DESTDIR.
bench: build
	Tests/Bench/run.sh "$$($(SWIFT) build -c release --show-bin-path)" bench-report.md

## install: bin/fshost, libexec/fshost/fshost-admin, lib/fshost/resource_types/<type>.so,
## and per type FailSafe's lib/failsafe/resource_types/<type>/{exclusive,start,stop,monitor,restart}
## (batch mode), FailSafe's shell library lib/failsafe/common_scripts/scriptlib
## (Scripts/failsafe/scriptlib, the fshost path filled in), and the OCF agent
## lib/ocf/resource.d/fshost/<type> (fshost ocf): links to
## bin/fshost, which reads its mode from the name it is called by (Sources/fshost/AgentLink.swift).
## The types are the built plugins (`fshost list --names`: test-only ones left
## out); each brings its companions <type>-<name>.so. No per-type edit here.
## The Swift runtime they need goes to lib/fshost/swift (a node needs no
## toolchain), the man pages, shell completions and docs under share/.
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
# The Swift runtime: what ldd resolves, for fshost, fshost-admin and each
# plugin, in the directory the build's fshost loads libswiftCore.so from
# (the toolchain's) is copied to lib/fshost/swift, and each installed ELF
# file's RUNPATH is set (patchelf, on the temporary copy) to reach it
# relative to itself: no path of the build machine is left. A plugin's
# $$ORIGIN/../swift serves ldd and other tools; fshost never searches it (it
# loads plugins through /proc/self/fd, and their Swift libraries are the
# host's, loaded already: one runtime).
# Each installed ELF file then loses every DT_NEEDED runtime library it uses
# no symbol of (Scripts/trim-needed.sh: swiftc autolinks Concurrency,
# StringProcessing and RegexParser into every binary, and loading them was
# about a third of a Swift process's start; docs/ARCHITECTURE.md §7), and
# must still load (`ldd -r`: no undefined symbol), else the install fails
# naming the file. lib/fshost/swift keeps every library the build's files
# resolved before trimming: a vendor's plugin that uses async still finds
# libswift_Concurrency there.
install-files:
	@test -n "$(BIN)" || { echo "install-files: set BIN to the products directory" >&2; exit 1; }
	@set -e; bin="$(BIN)"; \
	put() { dir=$$(dirname "$$3"); tmp="$$dir/.$$(basename "$$3").tmp.$$$$"; \
	  { install -m "$$1" "$$2" "$$tmp" && { [ -z "$$4" ] || { patchelf --set-rpath "$$4" "$$tmp" \
	      && Scripts/trim-needed.sh "$$swift" "$$tmp" "$$3"; }; } \
	    && mv -f "$$tmp" "$$3"; } || { rm -f "$$tmp"; exit 1; }; }; \
	command -v patchelf >/dev/null || { echo "make install: patchelf is missing (make deps)" >&2; exit 1; }; \
	p=$(DESTDIR)$(PREFIX); \
	install -d -m 0755 $$p/bin $$p/libexec/fshost $$p/lib/fshost/resource_types $$p/lib/fshost/swift \
	  $$p/share/fshost $$p/share/doc/fshost $$p/share/man/man1 $$p/share/bash-completion/completions \
	  $$p/share/zsh/site-functions $$p/share/fish/vendor_completions.d; \
	types=$$(FSHOST_PLUGIN_PATH="$$bin" "$$bin/fshost" list --names) || exit 1; \
	[ -n "$$types" ] || { echo "make install: no resource types built in $$bin" >&2; exit 1; }; \
	sos=; for t in $$types; do \
	  for so in "$$bin"/lib$$t.so "$$bin"/lib$$t-*.so; do [ -e "$$so" ] && sos="$$sos $$so"; done; \
	done; \
	swift=$$(ldd "$$bin/fshost" | awk '$$1 == "libswiftCore.so" { print $$3 }'); swift=$${swift%/*}; \
	[ -n "$$swift" ] || { echo "make install: $$bin/fshost does not load libswiftCore.so (ldd)" >&2; exit 1; }; \
	runtime=$$(for f in "$$bin/fshost" "$$bin/fshost-admin" $$sos; do ldd "$$f"; done \
	  | awk -v d="$$swift/" 'index($$3, d) == 1 { print $$3 }' | sort -u); \
	for lib in $$runtime; do put 0644 "$$lib" $$p/lib/fshost/swift/$${lib##*/}; done; \
	put 0755 "$$bin/fshost" $$p/bin/fshost '$$ORIGIN/../lib/fshost/swift'; \
	put 0755 "$$bin/fshost-admin" $$p/libexec/fshost/fshost-admin '$$ORIGIN/../../lib/fshost/swift'; \
	for so in $$sos; do \
	  n=$$(basename "$$so" .so); put 0755 "$$so" $$p/lib/fshost/resource_types/$${n#lib}.so '$$ORIGIN/../swift'; \
	done; \
	put 0644 Plugins/Template/Template.swift $$p/share/fshost/Template.swift; \
	put 0644 README.md $$p/share/doc/fshost/README.md; \
	put 0644 docs/ARCHITECTURE.md $$p/share/doc/fshost/ARCHITECTURE.md; \
	gen=$$(mktemp -d) && trap 'rm -rf "$$gen"' EXIT; \
	"$$bin/fshost" --help > "$$gen/action-help"; \
	for page in fshost fshost-admin; do \
	  "$$bin/fshost-admin" generate-manual $$page --action-help "$$gen/action-help" > "$$gen/$$page.1"; \
	  put 0644 "$$gen/$$page.1" $$p/share/man/man1/$$page.1; \
	done; \
	for sh in bash zsh fish; do "$$bin/fshost-admin" generate-completion $$sh > "$$gen/$$sh"; done; \
	put 0644 "$$gen/bash" $$p/share/bash-completion/completions/fshost; \
	put 0644 "$$gen/zsh" $$p/share/zsh/site-functions/_fshost; \
	put 0644 "$$gen/fish" $$p/share/fish/vendor_completions.d/fshost.fish; \
	link() { tmp="$$(dirname "$$2")/.$$(basename "$$2").tmp.$$$$"; \
	  ln -sfn "$$1" "$$tmp" && mv -Tf "$$tmp" "$$2" || { rm -f "$$tmp"; exit 1; }; }; \
	install -d -m 0755 $$p/lib/failsafe/common_scripts; \
	sed 's|@FSHOST@|$(PREFIX)/bin/fshost|' Scripts/failsafe/scriptlib > "$$gen/scriptlib"; \
	put 0644 "$$gen/scriptlib" $$p/lib/failsafe/common_scripts/scriptlib; \
	for t in $$types; do \
	  install -d -m 0755 $$p/lib/failsafe/resource_types/$$t $$p/lib/ocf/resource.d/fshost; \
	  for a in exclusive start stop monitor restart; do \
	    link ../../../../bin/fshost $$p/lib/failsafe/resource_types/$$t/$$a; \
	  done; \
	  link ../../../../bin/fshost $$p/lib/ocf/resource.d/fshost/$$t; \
	done

## deb: a Debian package of the same tree, installed under /usr: fshost_<version>_<arch>.deb here.
deb: build
	$(MAKE) deb-files BIN="$$($(SWIFT) build -c release --show-bin-path)"

## deb-files: the package from BIN without building; DEB names the file.
# Depends: the Debian packages owning each library an installed file names
# (DT_NEEDED) outside the tree, where ldd finds it (ldd follows the $$ORIGIN
# RUNPATHs into the staged runtime), and the two fshost loads on first use
# (dlopen): libelf and SQLite.
deb-files:
	@test -n "$(BIN)" || { echo "deb-files: set BIN to the products directory" >&2; exit 1; }
	@set -e; stage=$$(mktemp -d); trap 'rm -rf "$$stage"' EXIT; root=$$stage/root; \
	$(MAKE) -s install-files BIN="$(BIN)" PREFIX=/usr DESTDIR=$$root; \
	version=$$("$(BIN)/fshost" --version); version=$${version##* }; arch=$$(dpkg --print-architecture); \
	libs=$$(for f in $$(find $$root/usr/bin $$root/usr/libexec $$root/usr/lib/fshost -type f); do \
	    needed=" $$(readelf -d "$$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | paste -sd' ') "; \
	    ldd "$$f" | awk -v n="$$needed" -v r="$$root/" '$$2 == "=>" && index(n, " " $$1 " ") && index($$3, r) != 1 { print $$3 }'; \
	  done | sort -u); \
	depends=$$({ dpkg -S $$libs $$(readlink -f $$libs) 2>/dev/null || true; } | cut -d: -f1 \
	  | cat - <(echo libelf1; echo libsqlite3-0) | sort -u | paste -sd, | sed 's/,/, /g'); \
	[ -n "$$depends" ] || { echo "make deb: no dependencies found (ldd, dpkg -S)" >&2; exit 1; }; \
	install -d -m 0755 $$root/DEBIAN; \
	printf '%s\n' "Package: fshost" "Version: $$version" "Architecture: $$arch" "Section: admin" "Priority: optional" \
	  "Maintainer: fshost developers <root@localhost>" "Depends: $$depends" \
	  "Description: runs the actions of a high-availability cluster's resources" \
	  " One host program with one plugin per resource type, for FailSafe (batch mode)" \
	  " and Pacemaker (OCF agents); carries its Swift runtime in /usr/lib/fshost/swift." \
	  > $$root/DEBIAN/control; \
	out="$(DEB)"; out=$${out:-fshost_$${version}_$${arch}.deb}; \
	dpkg-deb --root-owner-group -Zgzip -z1 --build $$root "$$out" >/dev/null; echo "$$out"

clean:
	rm -rf .build bench-report.md
