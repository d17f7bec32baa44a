/* fv_hostile.c - the hostile-input suite's runner: generates malformed and hostile inputs for every
 * format the fovea CLI reads (cases_*.c), runs the CLI on each in a folder of its own under a
 * wall-clock limit, RLIMIT_AS of 1 GiB (not in sanitized builds: FV_SANITIZED=1) and a watch on
 * resident memory, and checks the outcome: the expected exit status and one-line "fovea: " error,
 * no signal, no sanitizer report, peak RSS (wait4) at most 1 GiB, no temporary or half-written file
 * and nothing written outside the case's output folders (check.c). Prints each failing case with
 * its reasons, then "N passed, M failed"; exits 1 when a case failed.
 *
 * Usage: fv_hostile FOVEA [--long] [--seed N] [--mutations N] [--only TEXT] [--jobs N] [--keep]
 *                         [--list] [-v]
 *   short run (ctest's "hostile", part of make test): every case once, 3 mutants per format
 *   long run, by hand:  build/fv_hostile build/fovea --long [--seed N]
 *                       (200 mutants per format and the large bombs; vary --seed between runs)
 *   --only TEXT runs the cases whose name contains TEXT; --keep keeps the folders (printed) to
 *   rerun a case by hand: cd into its folder's w/d and run the printed command. */
#include "hostile.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define GIB (1024.0 * 1024.0 * 1024.0)
#define MAX_JOBS 8

static const h_entry *const tables[] = {h_cases_idx,     h_cases_images, h_cases_folders,
                                        h_cases_model,   h_cases_weights, h_cases_cli,
                                        h_cases_mutate};

static struct {
    char fovea[4096], root[1024];
    const char *only;
    int jobs, keep, list, verbose, sanitized;
    int passed, failed, skipped, index;
} g = {.jobs = 2};

/* ---------------------------------------------------------------- declaring a run */

static char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p)
        h_die("out of memory");
    return p;
}

void h_run(h_case *c, h_expect e, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    c->expect = e, c->flags = flags, c->argc = 0;
    for (const char *a; (a = va_arg(ap, const char *));) {
        if (c->argc >= H_MAX_ARGS - 3)
            h_die("%s: too many arguments", c->name);
        c->argv[c->argc++] = xstrdup(a);
    }
    va_end(ap);
    if (!(flags & F_NOTHREADS)) { /* a fixed pool: RLIMIT_AS must not depend on the cores */
        c->argv[c->argc++] = xstrdup("--threads");
        c->argv[c->argc++] = xstrdup("2");
    }
    if (!c->nouts)
        h_outs(c, "out", "runs");
}

void h_outs(h_case *c, const char *a, const char *b)
{
    for (int i = 0; i < c->nouts; i++)
        free(c->outs[i]);
    c->nouts = 0;
    if (a)
        c->outs[c->nouts++] = xstrdup(a);
    if (b)
        c->outs[c->nouts++] = xstrdup(b);
}

void h_stdout(h_case *c, const char *needle) { c->stdout_needle = xstrdup(needle); }

void h_file_has(h_case *c, const char *path, const char *needle)
{
    c->file_path = xstrdup(path);
    c->file_needle = xstrdup(needle);
}

void h_skip(h_case *c, const char *why) { c->skip = xstrdup(why); }

static void case_free(h_case *c)
{
    for (int i = 0; i < c->argc; i++)
        free(c->argv[i]);
    for (int i = 0; i < c->nouts; i++)
        free(c->outs[i]);
    free(c->stdout_needle), free(c->skip), free(c->file_path), free(c->file_needle);
    free(c);
}

/* ---------------------------------------------------------------- running one */

typedef struct slot {
    h_case *c;
    pid_t pid;
    double t0, limit;
    int killed_time, killed_rss;
    char dir[4200], log[4200];
    h_snap before;
} slot;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double time_limit(const h_case *c)
{
    if (c->flags & F_FIFO)
        return g.sanitized ? 5 : 2; /* opening must not block: a right answer takes milliseconds */
    double t = c->flags & F_TRAIN ? 60 : 20;
    return g.sanitized ? 3 * t : t;
}

/* In the child: limits, environment, output files, then exec. */
static void child(const slot *s)
{
    setpgid(0, 0);
    char wd[4300], path[4300];
    snprintf(wd, sizeof wd, "%s/w/d", s->dir);
    if (chdir(wd) != 0)
        _exit(126);
    snprintf(path, sizeof path, "%s.out", s->log);
    if (!freopen("/dev/null", "r", stdin) || !freopen(path, "w", stdout))
        _exit(126);
    snprintf(path, sizeof path, "%s.err", s->log);
    if (!freopen(path, "w", stderr))
        _exit(126);
    struct rlimit core = {0, 0}, fsize = {512u << 20, 512u << 20}, as = {1u << 30, 1u << 30};
    setrlimit(RLIMIT_CORE, &core);
    setrlimit(RLIMIT_FSIZE, &fsize);
    if (!g.sanitized)
        setrlimit(RLIMIT_AS, &as);
    else { /* no address-space limit under ASan: refuse single allocations over 1 GiB instead */
        const char *o = getenv("ASAN_OPTIONS");
        char opts[2048];
        snprintf(opts, sizeof opts, "%s%sallocator_may_return_null=1:max_allocation_size_mb=1024",
                 o ? o : "", o && *o ? ":" : "");
        setenv("ASAN_OPTIONS", opts, 1);
        o = getenv("LSAN_OPTIONS"); /* the count of suppressed leaks is not a report */
        snprintf(opts, sizeof opts, "%s%sprint_suppressions=0", o ? o : "", o && *o ? ":" : "");
        setenv("LSAN_OPTIONS", opts, 1);
    }
    setenv("FOVEA_DATA", "no-default-data", 1); /* the cases name their data */
    /* the documented data cap, set below the 1 GiB limit so that a data set too big for it is
     * refused by the cap (the default, 2048 MB, is for machines with the memory) */
    setenv("FOVEA_MAX_DATA_MB", "768", 1);
    char *argv[H_MAX_ARGS + 2];
    argv[0] = g.fovea;
    for (int i = 0; i < s->c->argc; i++)
        argv[i + 1] = s->c->argv[i];
    argv[s->c->argc + 1] = NULL;
    execv(g.fovea, argv);
    _exit(127);
}

static void start(slot *s)
{
    snap_take(s->dir, &s->before);
    fflush(stdout), fflush(stderr);
    s->t0 = now();
    s->limit = time_limit(s->c);
    s->killed_time = s->killed_rss = 0;
    s->pid = fork();
    if (s->pid < 0)
        h_die("fork: %s", strerror(errno));
    if (s->pid == 0)
        child(s);
    setpgid(s->pid, s->pid);
}

static long rss_kb(pid_t pid)
{
    char p[64];
    long size = 0, res = 0;
    snprintf(p, sizeof p, "/proc/%d/statm", (int)pid);
    FILE *f = fopen(p, "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &size, &res) != 2)
            res = 0;
        fclose(f);
    }
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Kills a run past its time or over 1 GiB resident (the watch matters under ASan, which has no
 * address-space limit). */
static void watch(slot *s)
{
    if (!s->killed_time && now() - s->t0 > s->limit) {
        s->killed_time = 1;
        kill(-s->pid, SIGKILL);
    }
    if (!s->killed_rss && rss_kb(s->pid) > (long)(GIB / 1024)) {
        s->killed_rss = 1;
        kill(-s->pid, SIGKILL);
    }
}

/* ---------------------------------------------------------------- judging one */

static char *read_log(const slot *s, const char *ext, size_t *n)
{
    char p[4300];
    snprintf(p, sizeof p, "%s.%s", s->log, ext);
    return (char *)r_file(p, n);
}

static int count_lines(const char *t, size_t n)
{
    int k = 0;
    for (size_t i = 0; i < n; i++)
        k += t[i] == '\n';
    return k + (n && t[n - 1] != '\n');
}

static const char *first_line(const char *t, char *buf, size_t len)
{
    size_t k = strcspn(t, "\n");
    snprintf(buf, len, "%.*s", (int)(k < len - 1 ? k : len - 1), t);
    for (char *p = buf; *p; p++)
        *p = (unsigned char)*p < 32 ? '?' : *p;
    return buf;
}

static int oom_message(const char *err)
{
    static const char *const words[] = {"out of memory", "cannot allocate", "insufficient memory",
                                        "memory exhausted", "bad_alloc"};
    for (int i = 0; i < 5; i++)
        if (strcasestr(err, words[i]))
            return 1;
    return 0;
}

/* After success: the file the case names must contain its text. */
static void judge_file(const slot *s, char *why, size_t len)
{
    char p[8400];
    snprintf(p, sizeof p, "%s/w/d/%s", s->dir, s->c->file_path);
    FILE *f = fopen(p, "rb");
    char buf[1 << 16];
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    if (!f)
        why_add(why, len, "no %s after success", s->c->file_path);
    else if (!strstr(buf, s->c->file_needle))
        why_add(why, len, "%s lacks \"%s\"", s->c->file_path, s->c->file_needle);
}

/* Removes ASan's "failed to allocate" warnings (allocator_may_return_null=1 makes them; the
 * library then reports out of memory); returns how many there were. */
static int drop_alloc_warnings(char *err, size_t *en)
{
    int k = 0;
    char *w = err;
    for (char *p = err; *p;) {
        char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) + 1 : strlen(p);
        if (strstr(p, "AddressSanitizer failed to allocate") &&
            strstr(p, "AddressSanitizer failed to allocate") < p + n)
            k++;
        else {
            memmove(w, p, n);
            w += n;
        }
        p += n;
    }
    *w = '\0';
    *en = (size_t)(w - err);
    return k;
}

static void judge_exit(const slot *s, int status, char *err, size_t en, const char *out,
                       char *why, size_t len)
{
    int asan_oom = drop_alloc_warnings(err, &en);
    const h_case *c = s->c;
    char line[200];
    if (s->killed_time)
        why_add(why, len, "hang: still running after %.0f s (killed)", s->limit);
    if (s->killed_rss)
        why_add(why, len, "memory: resident set over 1 GiB (killed)");
    if (s->killed_time || s->killed_rss)
        return;
    if (WIFSIGNALED(status)) {
        why_add(why, len, "crash: killed by signal %d (%s)", WTERMSIG(status),
                strsignal(WTERMSIG(status)));
        return;
    }
    int rc = WEXITSTATUS(status), lines = count_lines(err, en);
    int err_ok = rc == 1 && lines == 1 && !strncmp(err, "fovea: ", 7);
    if (strstr(err, "Sanitizer") || strstr(err, "runtime error:")) {
        const char *at = strstr(err, "ERROR: ");
        at = at ? at : strstr(err, "runtime error:") ? strstr(err, "runtime error:") : err;
        why_add(why, len, "sanitizer report: %s", first_line(at, line, sizeof line));
    }
    if (c->expect == EXPECT_OK && rc != 0)
        why_add(why, len, "expected success, got exit %d: %s", rc, first_line(err, line, sizeof line));
    else if (c->expect == EXPECT_ERR && rc == 0)
        why_add(why, len, "expected an error, got exit 0 (accepted)");
    else if (c->expect != EXPECT_OK && rc != 0 && !err_ok)
        why_add(why, len, "expected exit 1 and one line \"fovea: ...\", got exit %d and %d "
                "stderr lines: %s", rc, lines, first_line(err, line, sizeof line));
    if (rc == 0 && c->stdout_needle && !strstr(out, c->stdout_needle))
        why_add(why, len, "stdout lacks \"%s\": %s", c->stdout_needle,
                first_line(out, line, sizeof line));
    if (rc == 0 && c->file_path)
        judge_file(s, why, len);
    if ((c->flags & F_NOOOM) && rc != 0 && (oom_message(err) || asan_oom))
        why_add(why, len, "memory: refused only when an allocation failed (%s)",
                first_line(err, line, sizeof line));
}

/* Entries in the suite's folder that no case may make (a path that escaped its case). */
static void check_root(char *why, size_t len)
{
    h_snap s;
    snap_take(g.root, &s);
    for (int i = 0; i < s.n; i++) {
        const char *p = s.e[i].path;
        if (!strcmp(p, "fix") || !strcmp(p, "cases") || !strcmp(p, "logs") ||
            !strncmp(p, "fix/", 4) || !strncmp(p, "logs/", 5))
            continue;
        if (!strncmp(p, "cases/", 6) && strspn(p + 6, "0123456789") == 4 &&
            (p[10] == '\0' || p[10] == '/'))
            continue;
        why_add(why, len, "wrote outside its folder: %s", p);
    }
    snap_free(&s);
}

static void print_cmd(const h_case *c)
{
    printf("    $ fovea");
    for (int i = 0; i < c->argc; i++) {
        printf(" ");
        for (const unsigned char *p = (const unsigned char *)c->argv[i]; *p; p++)
            printf(*p < 32 || *p > 126 ? "\\x%02x" : "%c", *p);
    }
    printf("\n");
}

static void finish(slot *s, int status, const struct rusage *ru)
{
    char why[4096] = "";
    size_t en, on;
    char *err = read_log(s, "err", &en), *out = read_log(s, "out", &on);
    err = realloc(err, en + 1), out = realloc(out, on + 1);
    err[en] = out[on] = '\0';
    judge_exit(s, status, err, en, out, why, sizeof why);
    double peak = (double)ru->ru_maxrss * 1024.0;
    if (peak > GIB)
        why_add(why, sizeof why, "memory: peak RSS %.0f MB is over 1 GiB", peak / 1e6);
    else if ((s->c->flags & F_SMALLMEM) && peak > GIB / 4)
        why_add(why, sizeof why, "memory: peak RSS %.0f MB for a file of a few kilobytes (at "
                "most 256 MiB)", peak / 1e6);
    char *outs[H_MAX_OUTS]; /* relative to the case's folder, as the snapshot's paths are */
    for (int i = 0; i < s->c->nouts; i++)
        if (asprintf(&outs[i], "w/d/%s", s->c->outs[i]) < 0)
            h_die("out of memory");
    snap_check(s->dir, &s->before, outs, s->c->nouts, why, sizeof why);
    for (int i = 0; i < s->c->nouts; i++)
        free(outs[i]);
    check_root(why, sizeof why);
    if (*why) {
        g.failed++;
        printf("FAIL %s: %s\n", s->c->name, why);
        print_cmd(s->c);
        if (g.keep)
            printf("    folder: %s/w/d\n", s->dir);
    } else {
        g.passed++;
        char line[160];
        if (g.verbose)
            printf("ok   %s (%.2f s, %.0f MB) %s\n", s->c->name, now() - s->t0, peak / 1e6,
                   first_line(err, line, sizeof line));
    }
    fflush(stdout);
    free(err), free(out);
    snap_free(&s->before);
    if (!g.keep)
        rm_tree(s->dir);
    case_free(s->c);
    s->c = NULL;
}

/* Waits until a slot is free (all == 0) or every run has ended (all == 1). */
static void reap(slot *slots, int all)
{
    for (;;) {
        int busy = 0;
        for (int i = 0; i < g.jobs; i++) {
            slot *s = &slots[i];
            if (!s->c)
                continue;
            int status;
            struct rusage ru;
            pid_t r = wait4(s->pid, &status, WNOHANG, &ru);
            if (r == s->pid) {
                finish(s, status, &ru);
                if (!all)
                    return;
            } else {
                watch(s);
                busy++;
            }
        }
        if (!busy || (!all && busy < g.jobs))
            return;
        nanosleep(&(struct timespec){0, 5000000}, NULL);
    }
}

/* ---------------------------------------------------------------- the cases */

static uint64_t name_hash(const char *s, int rep)
{
    uint64_t h = 1469598103934665603ull ^ h_seed;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (h ^ (uint64_t)rep) * 1099511628211ull;
}

/* Generates the case in its folder; NULL when filtered out or skipped. */
static h_case *make_case(const h_entry *e, int rep, char *dir, size_t len)
{
    h_case *c = calloc(1, sizeof *c);
    if (!c)
        h_die("out of memory");
    snprintf(c->name, sizeof c->name, e->reps ? "%s-%d" : "%s", e->name, rep);
    c->rep = rep;
    if ((g.only && !strstr(c->name, g.only)) || g.list) {
        if (g.list && (!g.only || strstr(c->name, g.only)))
            printf("%s\n", c->name);
        case_free(c);
        return NULL;
    }
    snprintf(dir, len, "%s/cases/%04d", g.root, g.index++);
    char wd[4300];
    snprintf(wd, sizeof wd, "%s/w/d", dir);
    mk_dirs(wd);
    if (chdir(wd) != 0)
        h_die("chdir %s", wd);
    h_rng_seed(name_hash(c->name, rep));
    e->gen(c);
    if (chdir(g.root) != 0)
        h_die("chdir %s", g.root);
    if (c->skip) {
        printf("skip %s: %s\n", c->name, c->skip);
        g.skipped++;
        rm_tree(dir);
        case_free(c);
        return NULL;
    }
    if (!c->argc)
        h_die("%s: the generator declared no run", c->name);
    return c;
}

static void run_all(void)
{
    slot slots[MAX_JOBS] = {{0}};
    for (size_t t = 0; t < sizeof tables / sizeof *tables; t++)
        for (const h_entry *e = tables[t]; e->name; e++)
            for (int rep = 0, n = e->reps < 0 ? h_mutations : e->reps ? e->reps : 1; rep < n;
                 rep++) {
                reap(slots, 0);
                slot *s = slots;
                while (s->c)
                    s++;
                if (!(s->c = make_case(e, rep, s->dir, sizeof s->dir)))
                    continue;
                snprintf(s->log, sizeof s->log, "%s/logs/%04d", g.root, g.index - 1);
                start(s);
            }
    reap(slots, 1);
}

/* ---------------------------------------------------------------- fixtures */

/* h_fix: the tiny models, an 8x8 three-class IDX data set, and a two-epoch run of it
 * (weights.safetensors, last.safetensors), made by fovea itself as the first case. */
static void gen_fixture(h_case *c)
{
    w_text("tiny.fv", "model tiny\ninput shape=1,8,8\nflatten\ndense units=3 name=fc\n");
    w_text("tiny10.fv", "model tiny10\ninput shape=1,8,8\nflatten\ndense units=10 name=fc\n");
    w_text("conv.fv", "model conv\ninput shape=1,8,8\nconv2d filters=4 kernel_size=3 padding=1 "
           "activation=relu name=c1\nflatten\ndense units=3 name=fc\n");
    w_text("cifar.fv", "model cifar\ninput shape=3,32,32\nflatten\ndense units=10 name=fc\n");
    idx_dataset("idx", 48, 24, 3, 3);
    h_run(c, EXPECT_OK, F_TRAIN, "train", "tiny.fv", "--data", "idx", "--epochs", "2", "--out",
          "run", "--seed", "1", "--quiet", NULL);
    h_outs(c, "run", NULL);
}

static int make_fixture(void)
{
    slot s = {0};
    h_case *c = calloc(1, sizeof *c);
    if (!c)
        h_die("out of memory");
    snprintf(c->name, sizeof c->name, "fixture/train");
    snprintf(s.dir, sizeof s.dir, "%s/fix", g.root);
    snprintf(h_fix, 2048, "%s/fix/w/d", g.root);
    snprintf(s.log, sizeof s.log, "%s/logs/fixture", g.root);
    mk_dirs(h_fix);
    if (chdir(h_fix) != 0)
        h_die("chdir %s", h_fix);
    h_rng_seed(name_hash(c->name, 0));
    gen_fixture(c);
    if (chdir(g.root) != 0)
        h_die("chdir %s", g.root);
    s.c = c;
    start(&s);
    int keep = g.keep, failed = g.failed;
    g.keep = 1; /* the fixtures stay for the cases */
    for (;;) {
        int status;
        struct rusage ru;
        if (wait4(s.pid, &status, WNOHANG, &ru) == s.pid) {
            finish(&s, status, &ru);
            break;
        }
        watch(&s);
        nanosleep(&(struct timespec){0, 5000000}, NULL);
    }
    g.keep = keep;
    return g.failed == failed;
}

/* ---------------------------------------------------------------- main */

static int parse_args(int argc, char **argv)
{
    if (argc < 2 || !realpath(argv[1], g.fovea)) {
        fprintf(stderr, "usage: fv_hostile FOVEA [--long] [--seed N] [--mutations N] "
                "[--only TEXT] [--jobs N] [--keep] [--list] [-v]\n");
        return -1;
    }
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--long"))
            h_long = 1, h_mutations = h_mutations == 3 ? 200 : h_mutations;
        else if (!strcmp(a, "--keep"))
            g.keep = 1;
        else if (!strcmp(a, "--list"))
            g.list = 1;
        else if (!strcmp(a, "-v"))
            g.verbose = 1;
        else if (v && !strcmp(a, "--seed"))
            h_seed = strtoull(v, NULL, 10), i++;
        else if (v && !strcmp(a, "--mutations"))
            h_mutations = atoi(v), i++;
        else if (v && !strcmp(a, "--only"))
            g.only = v, i++;
        else if (v && !strcmp(a, "--jobs"))
            g.jobs = atoi(v), i++;
        else {
            fprintf(stderr, "fv_hostile: unknown option %s\n", a);
            return -1;
        }
    }
    g.jobs = g.jobs < 1 ? 1 : g.jobs > MAX_JOBS ? MAX_JOBS : g.jobs;
    return 0;
}

int main(int argc, char **argv)
{
    if (parse_args(argc, argv) != 0)
        return 2;
    const char *san = getenv("FV_SANITIZED");
    g.sanitized = san && !strcmp(san, "1");
    const char *tmp = getenv("TMPDIR");
    snprintf(g.root, sizeof g.root, "%s/fv_hostile.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(g.root))
        h_die("mkdtemp %s: %s", g.root, strerror(errno));
    char p[4200];
    snprintf(p, sizeof p, "%s/cases", g.root);
    mk_dirs(p);
    snprintf(p, sizeof p, "%s/logs", g.root);
    mk_dirs(p);
    signal(SIGPIPE, SIG_IGN);
    double t0 = now();
    if (!g.list && !make_fixture())
        printf("(the fixture run failed: the cases that use its weights fail too)\n");
    run_all();
    if (g.list) {
        rm_tree(g.root);
        return 0;
    }
    printf("%d passed, %d failed", g.passed, g.failed);
    if (g.skipped)
        printf(", %d skipped", g.skipped);
    printf(" (%.1f s%s)\n", now() - t0, g.sanitized ? ", sanitized build: no RLIMIT_AS" : "");
    if (g.keep)
        printf("cases kept in %s\n", g.root);
    else
        rm_tree(g.root);
    return g.failed ? 1 : 0;
}
