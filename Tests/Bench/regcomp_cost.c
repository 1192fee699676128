/* The start-up cost of level 3's patterns: glibc regcomp (REG_EXTENDED |
 * REG_NEWLINE, as FSKit.LinePattern) of each argument, once, in a fresh
 * process (cold: what every fshost monitor pays), then warm (the mean of
 * 10,000 more). Prints: "<cold µs> <warm µs>".
 *   regcomp_cost PATTERN... */
#include <regex.h>
#include <stdio.h>
#include <time.h>

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

int main(int argc, char **argv) {
    regex_t r;
    double a = now_us();
    for (int k = 1; k < argc; k++) {
        if (regcomp(&r, argv[k], REG_EXTENDED | REG_NEWLINE) != 0) return 2;
        regfree(&r);
    }
    double cold = now_us() - a;
    int n = 10000;
    a = now_us();
    for (int i = 0; i < n; i++)
        for (int k = 1; k < argc; k++) { regcomp(&r, argv[k], REG_EXTENDED | REG_NEWLINE); regfree(&r); }
    printf("%.1f %.2f\n", cold, (now_us() - a) / n);
    return 0;
}
