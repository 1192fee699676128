/*
 * fshost plugin ABI — the only thing the host and a plugin share.
 *
 * Why C: a Swift protocol shared across dlopen() breaks (each side binds its
 * own metadata, casts fail; adding a requirement crashes old plugins). Vendors
 * ship .so files built at other times, so the boundary is a versioned C
 * struct of function pointers.
 *
 * Compatibility rules
 *  - FSHOST_ABI_VERSION changes only when an existing field changes meaning
 *    or position. The host refuses any other version, before loading.
 *  - New fields are appended to a struct; `struct_size` tells the other side
 *    which fields exist. Read a field only when struct_size covers it.
 *  - Every pointer handed across stays valid for the lifetime of the object
 *    that owns it (the plugin descriptor: forever; an instance: until
 *    destroy; a host string: until the action returns).
 */
#ifndef FSHOST_PLUGIN_H
#define FSHOST_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------- */
/* Versions, names, the ELF record                                        */
/* ---------------------------------------------------------------------- */

/** Version of the structs below. */
#define FSHOST_ABI_VERSION 1u

/** The one symbol a plugin exports: `fshost_entry fshost_plugin_entry(void)`. */
#define FSHOST_ENTRY_SYMBOL "fshost_plugin_entry"

/** ELF section holding the plugin record, read by the host before dlopen. */
#define FSHOST_RECORD_SECTION ".fshost_plugin"

/** First four bytes of the record: "FSHP" in memory order. */
#define FSHOST_RECORD_MAGIC 0x50485346u

/** Version of the record layout. */
#define FSHOST_RECORD_VERSION 1u

/** Longest type name, including the terminating NUL. */
#define FSHOST_TYPE_NAME_CAPACITY 32u

/** Longest companion-call signature, including the terminating NUL. */
#define FSHOST_SIGNATURE_CAPACITY 64u

/**
 * The one symbol a companion object exports:
 * `void fshost_companion_call(const void *request, void *response)`, where
 * both point to values of the Swift types of the call its signature names.
 */
#define FSHOST_COMPANION_SYMBOL "fshost_companion_call"

/** Bits of fshost_plugin_record.flags. */
enum {
    /** A companion object `<type>-<name>.so`, not a resource type: exports FSHOST_COMPANION_SYMBOL. */
    FSHOST_RECORD_FLAG_COMPANION = 1u << 0,
    /** Built for the tests only: `fshost list` and `make install` leave it out. */
    FSHOST_RECORD_FLAG_TEST_ONLY = 1u << 1
};

/**
 * The record a plugin carries in section FSHOST_RECORD_SECTION. The host reads
 * it with libelf without running a line of the plugin. The SDK's build-tool
 * plugin generates it (Swift's @section takes literals only).
 *
 * compiler_version is major*10000 + minor*100 + patch of the Swift compiler
 * that built the plugin; the host refuses one that differs from its own.
 *
 * The record grows by appending, like the structs below: the section's size
 * says which fields exist. `flags` was reserved (0) in the first records, and
 * a 48-byte record has no `signature`.
 */
typedef struct fshost_plugin_record {
    uint32_t magic;
    uint16_t record_version;
    uint16_t abi_version;
    uint32_t compiler_version;
    uint32_t flags; /* FSHOST_RECORD_FLAG_* */
    char type_name[FSHOST_TYPE_NAME_CAPACITY];
    /* ---- Appended (present when the section is at least this long) ------ */
    /** A companion: the call it serves, `<CallType>@<hash of the call's declaration>`;
        a plugin: the calls it makes to companions, separated by ','; "" for none. */
    char signature[FSHOST_SIGNATURE_CAPACITY];
} fshost_plugin_record;

/* ---------------------------------------------------------------------- */
/* Status codes (FailSafe scriptlib names, numbered in the guide's order) */
/* ---------------------------------------------------------------------- */

enum {
    FSHOST_HA_SUCCESS = 0,       /* done / healthy */
    FSHOST_HA_NOT_RUNNING = 1,   /* cleanly stopped (monitor, exclusive) */
    FSHOST_HA_INVAL_ARGS = 2,    /* bad command line or attribute value */
    FSHOST_HA_CMD_FAILED = 3,    /* the action failed */
    FSHOST_HA_RUNNING = 4,       /* exclusive: running on this node */
    FSHOST_HA_NOTSUPPORTED = 5,  /* unknown type, or action not supported */
    FSHOST_HA_NOCFGINFO = 6,     /* resource or required configuration missing */
    FSHOST_HA_REFUSED = 7,       /* plugin file refused by the pre-load checks */
    FSHOST_HA_TIMEOUT = 8,       /* the action did not finish before its deadline */
    FSHOST_HA_HOST_ERROR = 9     /* the host could not do its part (lock, run or state directory) */
};

/* ---------------------------------------------------------------------- */
/* Actions                                                                */
/* ---------------------------------------------------------------------- */

enum {
    FSHOST_ACTION_EXCLUSIVE = 0,
    FSHOST_ACTION_START = 1,
    FSHOST_ACTION_STOP = 2,
    FSHOST_ACTION_MONITOR = 3,
    FSHOST_ACTION_RESTART = 4,
    FSHOST_ACTION_VALIDATE = 5,
    FSHOST_ACTION_COUNT = 6
};

/** Bit for an action in fshost_plugin.actions. */
#define FSHOST_ACTION_BIT(action) (1u << (action))

/* ---------------------------------------------------------------------- */
/* Descriptions: levels, attributes, processes                            */
/* ---------------------------------------------------------------------- */

/** A monitoring level. Deeper levels include the shallower ones. */
typedef struct fshost_level {
    uint32_t number;
    const char *name;        /* "process", "port", "http" */
    const char *description; /* what it checks */
    const char *cost;        /* what it costs, e.g. "one /proc scan" */
} fshost_level;

/**
 * Value types the host validates before any action runs.
 *
 * FSHOST_ATTR_DURATION: fshost's one duration grammar (the same for the CDB,
 * TOML files, `--timeout` and `fshost exec2`):
 *     duration = digits [ "." digits ] [ "ms" | "s" | "m" | "h" ]
 * A bare number means SECONDS (as FailSafe's scripts and Pacemaker count):
 * "5" = 5 s, "0.5" = 500 ms. The value must be whole milliseconds and at
 * most 24h. The plugin always receives the canonical text "<n>ms"; a
 * default_value should carry its unit ("2000ms", "2s"). The host's own
 * settings are also bounded: <action>_timeout 1ms..24h, retry_interval
 * 100ms..24h, retries 0..100 (anything else is HA_INVAL_ARGS).
 */
enum {
    FSHOST_ATTR_STRING = 0,
    FSHOST_ATTR_INTEGER = 1,  /* decimal, optional sign, fits int64 */
    FSHOST_ATTR_BOOLEAN = 2,  /* true / false */
    FSHOST_ATTR_DURATION = 3, /* 250ms, 5s, 2m, 1h; a bare number is seconds; <= 24h; passed as "<n>ms" */
    FSHOST_ATTR_PORT = 4,     /* 1..65535 */
    FSHOST_ATTR_PATH = 5,     /* absolute path */
    FSHOST_ATTR_ARGV = 6,     /* JSON array of strings: ["nginx","-s","quit"] */
    FSHOST_ATTR_IP_ADDRESS = 7, /* numeric IPv4 or IPv6 address (inet_pton); canonical: inet_ntop's text */
    FSHOST_ATTR_USER = 8        /* POSIX portable user name ([A-Za-z0-9._-], not starting with '-'), of an existing user */
};

/** Bits of fshost_attribute.flags. */
enum {
    /** Never shown in a log line, --json, an error message, `cdb show` or `cdb export` (unless asked for). */
    FSHOST_ATTR_FLAG_SECRET = 1u << 0,
    /** `minimum` applies (integer, port: the number; duration: milliseconds; string: its length in
        bytes, white space at either end left out; user: the uid, where the value says it — `root`
        is 0, a number is a uid — other names are not looked up). */
    FSHOST_ATTR_FLAG_MINIMUM = 1u << 1,
    /** `maximum` applies (same units as `minimum`). */
    FSHOST_ATTR_FLAG_MAXIMUM = 1u << 2,
    /** A string attribute holding a POSIX extended regular expression: the host
        refuses one regcomp(3) (REG_EXTENDED | REG_NEWLINE) does not compile, an
        empty one, one of several lines, and one with a back-reference. */
    FSHOST_ATTR_FLAG_REGEX = 1u << 3,
    /** Changes only how long or how deep a monitor looks (a check's timeout, a probe's protocol), never
        where the resource is found nor how it is started or stopped: `cdb modify`, `modify-type` and
        `import` change it on a resource that runs without --force, as the host settings (timeouts,
        retries, monitor_level). A plugin built before this bit is read as 0: changed only when stopped. */
    FSHOST_ATTR_FLAG_MONITOR_ONLY = 1u << 4
};

/**
 * One attribute of the type's schema. The host enforces the constraints
 * (allowed values, minimum, maximum, pattern, refused values) before any
 * action runs and in every `cdb` write, so a plugin checks none of them
 * itself.
 */
typedef struct fshost_attribute {
    const char *name;
    uint32_t type;             /* FSHOST_ATTR_* */
    uint32_t required;         /* 1: the resource must set it */
    const char *default_value; /* canonical text, or NULL */
    const char *description;

    /* ---- Appended (read only when fshost_plugin.attribute_size covers them) */

    uint32_t flags;                    /* FSHOST_ATTR_FLAG_* */
    uint32_t allowed_count;            /* > 0: the value must be one of allowed_values */
    const char *const *allowed_values; /* canonical texts, allowed_count of them */
    int64_t minimum;                   /* with FSHOST_ATTR_FLAG_MINIMUM */
    int64_t maximum;                   /* with FSHOST_ATTR_FLAG_MAXIMUM */

    /* ---- Appended after maximum (read only when attribute_size covers them;
       a plugin built before has a 64-byte element on LP64 and none of them) */

    /** Non-NULL: a POSIX extended regular expression (regcomp(3) REG_EXTENDED,
        no back-reference) that the WHOLE canonical value must match: the host
        matches "^(pattern)$". A name the consumer of the value would refuse
        or misread (an nft table, a file under /run/netns) is then refused at
        `cdb define/modify/import`, not first by an action. A pattern the host
        cannot compile refuses every value of the attribute, naming why. */
    const char *pattern;
    /** What `pattern` allows, in words, for the one-line refusal ("letters,
        digits, _ - ., starting with a letter or _"); NULL: the pattern is shown. */
    const char *pattern_description;
    /** > 0: the canonical value must be none of refused_values (exact texts):
        words the consumer reads as something else (nft's keywords). */
    uint32_t refused_count;
    uint32_t reserved_refused;         /* 0 */
    const char *const *refused_values; /* refused_count of them */
} fshost_attribute;

/**
 * A process the resource runs as. The host checks these: present after
 * start, gone after stop, present while monitor reports success. The
 * matching rules are the host's one matcher (ProcScan's ProcessPattern,
 * summarised here):
 *  - name: equals comm, or the basename of argv[0] or of /proc/PID/exe
 *    (so a name longer than comm's 15 bytes matches), or the first word of
 *    a title the server rewrote ("nginx: master process …" → nginx). A name
 *    with a '/' is a path: argv[0] or /proc/PID/exe must be that file.
 *  - argument: a whole argument of argv[1...] (or the value of `name=ARG`,
 *    `--opt=ARG` or `-oARG`), or a whole space-separated word of a rewritten title;
 *    never a substring: "/X/nginx.conf" does not match "/srv/ha/X/nginx.conf".
 *
 * Appended fields (read only when the plugin's process_pattern_size covers
 * them): a pid hint. When the plugin knows the pid (from its pidfile) and
 * start time, the host checks that one process directly instead of scanning
 * /proc, and scans only when the hint fails, and for stop's "none remain".
 */
typedef struct fshost_process_pattern {
    const char *name;     /* see above; required */
    const char *argument; /* see above; NULL: any arguments */
    /* ---- Appended ---------------------------------------------------- */
    int32_t pid;          /* the process the plugin believes is this one; 0: no hint */
    uint32_t reserved;    /* 0 */
    uint64_t start_time;  /* pid's start time, clock ticks since boot (field 22 of
                             /proc/PID/stat); 0: not known (the pid is checked by pattern only) */
    /* ---- Appended after start_time ------------------------------------ */
    uint32_t has_owner;   /* 1: only a process whose real uid is `owner` is this one; 0: any owner
                             the host's owner rule admits (a service account's look-alike of a
                             root-owned program, run by another local user, would be admitted) */
    uint32_t owner;       /* the real uid (/proc/PID/status Uid:) when has_owner is 1 */
} fshost_process_pattern;

/* ---------------------------------------------------------------------- */
/* Host services, handed to the plugin for one resource and one action    */
/* ---------------------------------------------------------------------- */

enum {
    FSHOST_LOG_ERROR = 0,
    FSHOST_LOG_WARNING = 1,
    FSHOST_LOG_INFO = 2,
    FSHOST_LOG_DEBUG = 3
};

/** How a spawned command ended. */
enum {
    FSHOST_SPAWN_EXITED = 0,    /* exit_status holds its exit code */
    FSHOST_SPAWN_SIGNALED = 1,  /* exit_status holds the signal */
    FSHOST_SPAWN_TIMED_OUT = 2, /* its process group was killed */
    FSHOST_SPAWN_FAILED = 3     /* could not be started; exit_status holds errno */
};

typedef struct fshost_host {
    uint32_t abi_version;
    uint32_t struct_size;
    void *context; /* pass back as the first argument of every call */
    const char *type_name;
    const char *resource_name;

    /** One log line; the host adds type, resource, action and level. */
    void (*log)(void *context, int32_t priority, const char *message);

    /** Why the action ended as it did; the host prints it with the status. */
    void (*set_reason)(void *context, const char *reason);

    /** Attribute value after defaults, in canonical text; NULL when unset. */
    const char *(*attribute)(void *context, const char *name);

    /** Milliseconds left before the action's deadline (negative: past it). */
    int64_t (*time_left_ms)(void *context);

    /**
     * Per-resource state kept between calls (written atomically).
     * state_get: 0 found, 1 absent, -1 error. If `capacity` is too small the
     * value is cut and *length still holds the full length.
     */
    int32_t (*state_get)(void *context, const char *key, char *buffer, size_t capacity, size_t *length);
    /** 0 stored, -1 error. A NULL value removes the key. */
    int32_t (*state_put)(void *context, const char *key, const char *value, size_t length);

    /**
     * Run argv (argv[0] searched in PATH when it has no slash; no shell) in
     * its own process group; kill the group at min(timeout_ms, time left).
     * Standard output and error go to `output` (cut at capacity) when output
     * is not NULL. Returns FSHOST_SPAWN_*.
     */
    int32_t (*spawn)(void *context, const char *const *argv, int64_t timeout_ms, int32_t *exit_status,
                     char *output, size_t output_capacity, size_t *output_length);

    /** Processes matching name/argument (the rules of fshost_process_pattern) in the shared /proc snapshot. */
    int32_t (*process_count)(void *context, const char *name, const char *argument);
    /** Signal every matching process; returns how many were signalled, -1 on error. */
    int32_t (*process_signal)(void *context, const char *name, const char *argument, int32_t signal);
    /** 1 if pid runs and (when start_time != 0) started at start_time; else 0. */
    int32_t (*process_alive)(void *context, int32_t pid, uint64_t start_time);
    /** Start time of pid in clock ticks since boot, 0 if it does not run. */
    uint64_t (*process_start_time)(void *context, int32_t pid);
    /** Drop the snapshot; the next query scans /proc again. */
    void (*process_refresh)(void *context);

    /**
     * Verify (same ELF checks as a plugin) and load the companion shared
     * object `<plugin>-<name>.so` beside the plugin, and return `symbol`
     * from it, or NULL with a reason set. Used to keep heavy client libraries
     * off the cheap monitoring levels.
     */
    void *(*companion)(void *context, const char *name, const char *symbol);

    /* ---- Appended (call only when struct_size covers them) ------------- */
    /* The host's process questions, so a plugin reads no /proc and calls no
       kill(2) of its own. Name and argument follow the rules of
       fshost_process_pattern. Start times are clock ticks since boot (field
       22 of /proc/PID/stat, what process_start_time returns); a start time
       of 0 means "whichever process has the pid now", without the guard.
       On -1, errno holds the reason: EINVAL (pid <= 1, pgid <= 0, or the
       host itself), EPERM. */

    /** 1 if pid runs, is not a zombie, started at start_time (0: any start time) and matches name/argument (NULL: any) by the host's process rules; else 0. */
    int32_t (*process_matches)(void *context, int32_t pid, uint64_t start_time, const char *name, const char *argument);
    /** Members of process group pgid (only those matching name when not NULL, and started at or after `since` clock ticks since boot when since != 0): writes up to capacity pids to out, returns how many there are (may exceed capacity), -1 on error. */
    int32_t (*group_members)(void *context, int32_t pgid, const char *name, uint64_t since, int32_t *out, uint32_t capacity);
    /** Send signal to pid only if it still runs with start time start_time (a pidfd where the kernel has it, so the pid cannot be reused in between). 0 sent, 1 gone or reused (nothing sent), -1 error (errno-style reason set). */
    int32_t (*signal_process)(void *context, int32_t pid, uint64_t start_time, int32_t signal);

    /* ---- Appended after the process services ---------------------------- */
    /**
     * The typed companion call: verify `<plugin>-<name>.so` beside the
     * plugin, refuse it before dlopen unless its record is a companion's
     * whose signature equals `signature` (the reason names both), load it
     * once per process, and return its FSHOST_COMPANION_SYMBOL; NULL with a
     * reason set otherwise.
     */
    void *(*companion_call)(void *context, const char *name, const char *signature);

    /* ---- Appended after companion_call ---------------------------------- */
    /**
     * 1 when the attribute `name` is set in the CDB (for the resource or
     * its type), 0 when its value is the declared default or it is unset,
     * -1 when the host cannot tell. Lets a plugin tell an old attribute
     * name and a new one set to the same value as its default apart from
     * an untouched default.
     */
    int32_t (*attribute_is_set)(void *context, const char *name);
    /**
     * What pid is, for a reason: `comm 'NAME', command line 'ARGS'` (escaped,
     * one line, cut). Writes up to capacity - 1 bytes and a NUL to out;
     * returns the text's full length, or -1 when pid does not run.
     */
    int32_t (*process_describe)(void *context, int32_t pid, char *out, uint32_t capacity);

    /* ---- Appended after process_describe -------------------------------- */
    /* The process services with an owner: `owner` is the real uid the
       process must run as, -1 for any (then they answer as process_count
       and process_matches). So a daemon that runs as a service account is
       not confused with the same root-owned program another local user
       runs with the same arguments. */
    /** As process_matches, and pid's real uid is owner (-1: any). */
    int32_t (*process_matches_owned)(void *context, int32_t pid, uint64_t start_time, const char *name,
                                     const char *argument, int64_t owner);
    /** The processes matching name/argument and owner (-1: any) in the shared /proc snapshot: writes up to capacity pids to out, returns how many there are (may exceed capacity), -1 on error. */
    int32_t (*process_find)(void *context, const char *name, const char *argument, int64_t owner,
                            int32_t *out, uint32_t capacity);
    /**
     * An exclusive lock shared by every resource of this type on `key`
     * (letters, digits, `_ . -`, not starting with a dot, at most 128
     * bytes): an flock on `<run>/locks/<type>.shared.<key>.lock`, a root-only
     * file in the host's lock directory, checked like a resource's lock (no
     * other user can hold or replace it). Waits at most timeout_ms (and the
     * time left). Returns the descriptor (close it to release), or -1 with
     * a reason set: busy until the limit, invalid key, unsafe run directory.
     */
    int32_t (*shared_lock)(void *context, const char *key, int64_t timeout_ms);

    /* ---- Appended after shared_lock (read only when struct_size covers it) */
    /**
     * The action fshost was asked for (FSHOST_ACTION_*), which this call is
     * part of: the validate the host runs before start says
     * FSHOST_ACTION_START (before restart, FSHOST_ACTION_RESTART), the
     * `validate` action itself FSHOST_ACTION_VALIDATE. So a check that costs
     * as much as the action (a kernel dry run) runs for `validate` alone,
     * when start's own step makes the same check anyway.
     */
    uint32_t action;
    uint32_t reserved_action; /* 0 */

    /* ---- Appended after action (call only when struct_size covers it) -- */
    /**
     * As state_put, without fsync(2): the value still replaces the old one
     * atomically (a process killed while writing leaves the old value or
     * the new one), but a power loss may lose it. For state that does not
     * outlive a reboot anyway (what the kernel holds: ipfilter's listing of
     * its table, which a reboot empties), where the sync would be the
     * action's longest wait (0.3-48 ms on ext4 under load, strace -T).
     */
    int32_t (*state_put_unsynced)(void *context, const char *key, const char *value, size_t length);

    /* ---- Appended after state_put_unsynced (call only when struct_size covers it) */
    /**
     * The state letter of pid (field 3 of /proc/PID/stat, proc(5): 'R',
     * 'S', 'D', 'T' stopped by a signal, 't' stopped by a tracer, ...) while
     * it runs and, when start_time is not 0, is that same process; -1
     * otherwise. So a plugin tells a server that is stopped (SIGSTOP: it
     * can neither serve nor obey a reload) from one that is slow.
     */
    int32_t (*process_state)(void *context, int32_t pid, uint64_t start_time);
} fshost_host;

/* ---------------------------------------------------------------------- */
/* The plugin descriptor                                                  */
/* ---------------------------------------------------------------------- */

/**
 * Returned by the entry symbol. Static for the life of the process.
 * An action pointer is NULL when the plugin leaves it to the host:
 * restart → stop then start; exclusive → lowest monitoring level;
 * validate → schema checks only.
 */
typedef struct fshost_plugin {
    uint32_t abi_version;
    uint32_t struct_size;
    const char *type_name;
    const char *summary;

    uint32_t level_count;
    const fshost_level *levels;
    uint32_t attribute_count;
    const fshost_attribute *attributes;

    /** Defaults the resource and the command line may override. */
    uint32_t default_timeout_ms[FSHOST_ACTION_COUNT];
    uint32_t default_level;
    uint32_t default_retries;
    uint32_t default_retry_interval_ms;

    /**
     * Make an instance for one resource. On failure: NULL, a reason set, and
     * *status the answer (FSHOST_HA_NOCFGINFO, FSHOST_HA_INVAL_ARGS, ...).
     */
    void *(*create)(const fshost_host *host, int32_t *status);
    void (*destroy)(void *instance);

    int32_t (*validate)(void *instance);
    int32_t (*exclusive)(void *instance);
    int32_t (*start)(void *instance);
    int32_t (*stop)(void *instance);
    /** One probe at `level` (and every shallower one). */
    int32_t (*monitor)(void *instance, uint32_t level);
    int32_t (*restart)(void *instance);

    /** Fill `out` with up to `capacity` declared processes; return how many there are. */
    uint32_t (*processes)(void *instance, fshost_process_pattern *out, uint32_t capacity);

    /* ---- Appended (read only when struct_size covers them) ------------- */

    /**
     * sizeof(fshost_attribute) and sizeof(fshost_process_pattern) as the
     * plugin was built: the strides of `attributes` and of the array
     * `processes` fills. Elements grow by appending fields, so the host
     * reads (and allocates) arrays with the plugin's stride and reads an
     * element's appended fields only when that stride covers them. A plugin
     * whose struct_size does not cover these fields has the first
     * published sizes (32 and 16 bytes on LP64).
     */
    uint32_t attribute_size;
    uint32_t process_pattern_size;
} fshost_plugin;

/** What the entry symbol returns (a struct so Swift plugins need no pointers). */
typedef struct fshost_entry {
    const fshost_plugin *plugin;
} fshost_entry;

typedef fshost_entry (*fshost_entry_function)(void);

#ifdef __cplusplus
}
#endif

#endif /* FSHOST_PLUGIN_H */
