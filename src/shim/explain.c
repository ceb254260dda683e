/*
 * --explain-fd N: each step the shim takes itself (mounts, pivot_root,
 * capabilities, seccomp, ...) is reported as "<command>\t<why>\n", written
 * as the step is taken, so `tbox --explain` shows what is really done.
 */
#define _GNU_SOURCE
#include "shim.h"

int explain_fd = -1;

void explain(const char *why, const char *fmt, ...) {
    if (explain_fd < 0) return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (n > (int)sizeof line - 2) n = sizeof line - 2;
    int m = snprintf(line + n, sizeof line - (size_t)n, "\t%s\n", why);
    if (m > 0) write_all(explain_fd, line, strlen(line));
}
