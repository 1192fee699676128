/* treerun: runs a command RUNS times as a subreaper and measures its whole
 * process tree, however it forked: every orphan comes to this process and is
 * reaped, so a process nobody waits for (fshost's worker ends after its
 * supervisor) is counted too, which hyperfine's and /usr/bin/time's rusage
 * (waited-for children only) miss.
 *
 *   treerun cpu RUNS CMD...  median over RUNS of the CPU time (user + sys, ms)
 *                            of every process of the tree
 *   treerun rss RUNS CMD...  median over RUNS of the largest peak RSS (KiB) of
 *                            any one process of the tree (wait4's ru_maxrss)
 *
 * C, not Python: a child keeps its parent's peak RSS across exec (the kernel
 * counts the old image's high-water mark), so the runner must be small, as
 * /usr/bin/time is. Built by lib.sh on first use. Exit 1 when CMD fails. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: treerun cpu|rss RUNS CMD...\n"); return 2; }
    int rss = argv[1][0] == 'r', runs = atoi(argv[2]);
    if (runs < 1) return 2;
    double *samples = calloc((size_t)runs, sizeof *samples);
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    for (int i = 0; i < runs; i++) {
        pid_t pid = fork();
        if (pid < 0) { perror("treerun: fork"); return 2; }
        if (pid == 0) {
            int null = open("/dev/null", O_RDWR);
            dup2(null, 1); dup2(null, 2);
            execvp(argv[3], argv + 3);
            _exit(127);
        }
        double cpu = 0, peak = 0;
        int status, failed = 0;
        struct rusage usage;
        pid_t reaped;
        while ((reaped = wait4(-1, &status, 0, &usage)) > 0) {
            if (reaped == pid && status != 0) failed = 1;
            cpu += (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e3
                 + (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e3;
            if (usage.ru_maxrss > peak) peak = (double)usage.ru_maxrss;
        }
        if (failed) { fprintf(stderr, "treerun: %s failed\n", argv[3]); return 1; }
        samples[i] = rss ? peak : cpu;
    }
    qsort(samples, (size_t)runs, sizeof *samples, compare);
    double median = runs % 2 ? samples[runs / 2] : (samples[runs / 2 - 1] + samples[runs / 2]) / 2;
    if (rss) printf("%.0f\n", median); else printf("%.2f\n", median);
    return 0;
}
