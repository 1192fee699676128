/*
 * The practical limit of a /proc scan for `exec2 -s 0 -t STRING`: read every
 * /proc/PID/cmdline once (openat, one read, close), search STRING in it with
 * NULs read as spaces, nothing else. No stat, no exclusions, no signals.
 * Exit 0 when some process matched, 1 when none did.
 *   cc -O2 -o cmdline_scan Tests/Bench/cmdline_scan.c && ./cmdline_scan STRING
 * Built by Tests/Bench/scanner.sh; not part of fshost.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2 || argv[1][0] == 0) { fprintf(stderr, "usage: cmdline_scan STRING\n"); return 2; }
    const char *needle = argv[1];
    size_t m = strlen(needle);
    DIR *dir = opendir("/proc");
    if (!dir) { perror("/proc"); return 2; }
    int dfd = dirfd(dir);
    pid_t self = getpid();
    static char buffer[65536];
    int found = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
        char path[300];
        snprintf(path, sizeof path, "%s/cmdline", e->d_name);
        if (atoi(e->d_name) == self) continue;
        int fd = openat(dfd, path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        ssize_t n = read(fd, buffer, sizeof buffer);
        close(fd);
        if (n <= 0) continue;
        for (ssize_t i = 0; i < n; i++) if (buffer[i] == 0) buffer[i] = ' ';
        if (memmem(buffer, (size_t)n, needle, m) != NULL) { found = 1; }
    }
    closedir(dir);
    return found ? 0 : 1;
}
