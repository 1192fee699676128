/*
 * A resource type in C for the host's process tests (Tests/FSHostTests/
 * ProcessServicesTests.swift), built by the test with a C compiler against
 * either header:
 *   - Tests/Fixtures/ABI1/fshost_plugin.h, the header as first published
 *     (commit 3704864): a plugin built before the process services and the
 *     pid hint were appended. It must still load, declare its process and
 *     answer.
 *   - Sources/FSPluginABI/include/fshost_plugin.h, the current one
 *     (-DCPROC_CURRENT_ABI): it also passes a pid hint and calls
 *     process_matches, group_members and signal_process.
 * The ELF record comes from the test (-DCPROC_RECORD=...,
 * -DCPROC_RECORD_SIZE=N), so the compiler version is the host's; the bench
 * (Tests/Bench/crowded.sh) passes -DCPROC_COMPILER_VERSION=N instead.
 *
 * Attributes: process_name and argument (the declared process; with
 * second_argument, a second one of the same name: the host must read the
 * array with the plugin's stride to find it), pid and
 * start_time (its hint, current ABI), signal (stop sends it to pid).
 * Levels: 1 answers success (the host checks the declared process);
 * 2 process_matches(pid, start_time, process_name, argument);
 * 3 group_members(pid, process_name, start_time): the count and pids as reason.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fshost_plugin.h"

#ifdef CPROC_COMPILER_VERSION
/* The bench: the record from the header's own struct. */
__attribute__((section(".fshost_plugin"), used, aligned(4)))
static const fshost_plugin_record fshost_record = {
    FSHOST_RECORD_MAGIC, FSHOST_RECORD_VERSION, FSHOST_ABI_VERSION, CPROC_COMPILER_VERSION, 0, CPROC_TYPE_NAME};
#else
__attribute__((section(".fshost_plugin"), used, aligned(4)))
static const unsigned char fshost_record[CPROC_RECORD_SIZE] = CPROC_RECORD;
#endif

typedef struct instance {
    const fshost_host *host;
    const char *name;
    const char *argument;
    const char *second_argument;
    long long pid;
    unsigned long long start_time;
    long long signal;
} instance;

static long long number(const fshost_host *h, const char *key) {
    const char *v = h->attribute(h->context, key);
    return v ? strtoll(v, NULL, 10) : 0;
}

static void *create(const fshost_host *h, int32_t *status) {
    (void)status;
    instance *i = calloc(1, sizeof *i);
    i->host = h;
    i->name = h->attribute(h->context, "process_name");
    i->argument = h->attribute(h->context, "argument");
    i->second_argument = h->attribute(h->context, "second_argument");
    i->pid = number(h, "pid");
    i->start_time = (unsigned long long)number(h, "start_time");
    i->signal = number(h, "signal");
    return i;
}

static void destroy(void *p) { free(p); }
static int32_t success(void *p) { (void)p; return FSHOST_HA_SUCCESS; }

static void reason(instance *i, const char *text) { i->host->set_reason(i->host->context, text); }

static int32_t monitor(void *p, uint32_t level) {
    instance *i = p;
    if (level <= 1) return FSHOST_HA_SUCCESS;
#ifdef CPROC_CURRENT_ABI
    const fshost_host *h = i->host;
    if (h->struct_size < offsetof(fshost_host, signal_process) + sizeof h->signal_process) {
        reason(i, "the host has no process services");
        return FSHOST_HA_CMD_FAILED;
    }
    if (level == 2) {
        int32_t yes = h->process_matches(h->context, (int32_t)i->pid, i->start_time, i->name, i->argument);
        reason(i, yes ? "process_matches: yes" : "process_matches: no");
        return yes ? FSHOST_HA_SUCCESS : FSHOST_HA_NOT_RUNNING;
    }
    int32_t pids[4];
    int32_t n = h->group_members(h->context, (int32_t)i->pid, i->name, i->start_time, pids, 4);
    char text[160];
    int at = snprintf(text, sizeof text, "group_members: %d:", n);
    for (int k = 0; k < n && k < 4; k++) at += snprintf(text + at, sizeof text - (size_t)at, " %d", pids[k]);
    reason(i, text);
    return n >= 0 ? FSHOST_HA_SUCCESS : FSHOST_HA_CMD_FAILED;
#else
    reason(i, "built against the first header: level 1 only");
    return FSHOST_HA_NOTSUPPORTED;
#endif
}

static int32_t stop(void *p) {
    instance *i = p;
#ifdef CPROC_CURRENT_ABI
    if (i->signal != 0) {
        const fshost_host *h = i->host;
        errno = 0;
        int32_t r = h->signal_process(h->context, (int32_t)i->pid, i->start_time, (int32_t)i->signal);
        char text[96];
        snprintf(text, sizeof text, "signal_process: %d errno %d", r, r < 0 ? errno : 0);
        reason(i, text);
        return r == 0 ? FSHOST_HA_SUCCESS : r == 1 ? FSHOST_HA_NOT_RUNNING : FSHOST_HA_CMD_FAILED;
    }
#endif
    (void)i;
    return FSHOST_HA_SUCCESS;
}

static uint32_t processes(void *p, fshost_process_pattern *out, uint32_t capacity) {
    instance *i = p;
    if (i->name == NULL) return 0;
    if (capacity >= 1 && out != NULL) {
        out[0].name = i->name;
        out[0].argument = i->argument;
#ifdef CPROC_CURRENT_ABI
        out[0].pid = (int32_t)i->pid;
        out[0].start_time = i->start_time;
#endif
    }
    if (i->second_argument == NULL) return 1;
    if (capacity >= 2 && out != NULL) {
        out[1].name = i->name;
        out[1].argument = i->second_argument;
    }
    return 2;
}

static const fshost_level levels[] = {
    {1, "declared", "the declared process runs (the host checks it)", "none in the plugin"},
    {2, "matches", "process_matches on pid", "one /proc/PID read"},
    {3, "group", "group_members of pid's group", "one /proc scan"},
};

static const fshost_attribute attributes[] = {
    {"process_name", FSHOST_ATTR_STRING, 0, NULL, "declared process name"},
    {"argument", FSHOST_ATTR_STRING, 0, NULL, "declared process argument"},
    {"second_argument", FSHOST_ATTR_STRING, 0, NULL, "a second declared process, same name"},
    {"pid", FSHOST_ATTR_INTEGER, 0, NULL, "pid hint"},
    {"start_time", FSHOST_ATTR_INTEGER, 0, NULL, "pid's start time"},
    {"signal", FSHOST_ATTR_INTEGER, 0, NULL, "stop sends this signal to pid"},
};

static const fshost_plugin plugin = {
    .abi_version = FSHOST_ABI_VERSION,
    .struct_size = sizeof(fshost_plugin),
    .type_name = CPROC_TYPE_NAME,
    .summary = "C test plugin for the host's process services",
    .level_count = 3,
    .levels = levels,
    .attribute_count = 6,
    .attributes = attributes,
    .default_timeout_ms = {5000, 5000, 5000, 5000, 5000, 5000},
    .default_level = 1,
    .default_retries = 0,
    .default_retry_interval_ms = 100,
    .create = create,
    .destroy = destroy,
    .validate = success,
    .exclusive = NULL,
    .start = success,
    .stop = stop,
    .monitor = monitor,
    .restart = NULL,
    .processes = processes,
#ifdef CPROC_CURRENT_ABI
    .attribute_size = sizeof(fshost_attribute),
#ifdef CPROC_PATTERN_SIZE
    .process_pattern_size = CPROC_PATTERN_SIZE, /* a wrong stride, for the loader's refusal */
#else
    .process_pattern_size = sizeof(fshost_process_pattern),
#endif
#endif
};

fshost_entry fshost_plugin_entry(void) {
    fshost_entry e = {&plugin};
    return e;
}
