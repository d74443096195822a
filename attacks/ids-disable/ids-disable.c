/*
 * ids-disable: the L1 administrator disables an IDS that watches a user VM.
 *
 * Threat (papers/001 sec. 2): an IDS offloaded to the management side of the
 * virtualized system (L1, the guest management VM) runs where the cloud's
 * untrusted administrators have root: one of them can stop it, and the
 * intrusion it was watching for goes unnoticed. This program is what that
 * administrator runs inside L1: it finds every process of an IDS (a command
 * line naming one of the IDS programs) and kills it. Under V-Met the IDS runs
 * outside L1, beside L0: there is nothing in L1 to find, and L0's RAM file
 * and roots socket are not in L1's namespace either.
 *
 * Preconditions: runs in L1 as root (to signal other users' processes and
 * read every /proc/PID/cmdline).
 *
 *   ids-disable [--kill] [NAME...]   NAME: IDS program names (default vmet)
 *
 * Output: one line per IDS process found ("ids PID CMDLINE"), then
 * "found N ids processes" and, with --kill, "killed N". Exit status: 0 if an
 * IDS was found (and, with --kill, every one killed), 1 if none was found in
 * L1, 2 usage error, 3 a kill failed.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CMDLINE_MAX 4096

static void usage(void)
{
    fprintf(stderr,
            "usage: ids-disable [--kill] [NAME...]\n"
            "  Run in L1 as root. Lists (and with --kill, SIGKILLs) every process whose\n"
            "  command line names an IDS program (default: anything containing \"vmet\").\n"
            "  Exit 0 if an IDS was found, 1 if none runs in L1.\n");
    exit(2);
}

/* A process's command line, NULs turned into spaces; length, or -1. */
static long read_cmdline(long pid, char *buf, size_t cap)
{
    char path[64];
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    n = read(fd, buf, cap - 1);
    close(fd);
    if (n <= 0) {
        return -1;
    }
    for (ssize_t i = 0; i < n; i++) {
        buf[i] = buf[i] ? buf[i] : ' ';
    }
    buf[n] = '\0';
    return n;
}

static int names_ids(const char *cmdline, char **names, int nnames)
{
    for (int i = 0; i < nnames; i++) {
        if (strstr(cmdline, names[i])) {
            return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    char *dflt[] = { "vmet" }, **names = dflt, cmd[CMDLINE_MAX];
    int nnames = 1, do_kill = 0, found = 0, killed = 0, failed = 0, a = 1;
    struct dirent *de;
    DIR *proc;

    if (a < argc && !strcmp(argv[a], "--kill")) {
        do_kill = 1;
        a++;
    }
    if (a < argc && argv[a][0] == '-') {
        usage();
    }
    if (a < argc) {
        names = argv + a;
        nnames = argc - a;
    }
    proc = opendir("/proc");
    if (!proc) {
        perror("ids-disable: /proc");
        return 2;
    }
    while ((de = readdir(proc))) {
        long pid = strtol(de->d_name, NULL, 10);

        if (!isdigit((unsigned char)de->d_name[0]) || pid == getpid() ||
            read_cmdline(pid, cmd, sizeof(cmd)) < 0 || !names_ids(cmd, names, nnames)) {
            continue;
        }
        found++;
        printf("ids %ld %s\n", pid, cmd);
        if (do_kill) {
            if (kill((pid_t)pid, SIGKILL) == 0) {
                killed++;
            } else {
                failed++;
            }
        }
    }
    closedir(proc);
    printf("found %d ids processes\n", found);
    if (do_kill) {
        printf("killed %d\n", killed);
    }
    return failed ? 3 : found ? 0 : 1;
}
