/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cli/progress.c - the one progress display of every command: the library
 * calls cli_progress(phase, done, total) (ovfk_progress_fn, curl's
 * xferinfo) and this file draws a bar on stderr, or writes one JSON event
 * per line on stdout (--progress=json), or nothing.
 *
 * A phase is what the command passed as opaque ("exporting", "merging");
 * when the library starts counting again (done goes back, or the total
 * changes) under the same label, that is a new step of the same phase
 * (an import verifies the package, then copies each disk).  Each step
 * ends with one final event whose done is the step's last count, and
 * whose total is that count when the library did not know the total.
 *
 * The rate is smoothed over the last RATE_WINDOW seconds of samples, so
 * a burst of sparse blocks or a stall of the page cache does not make
 * the time left jump around; the first draw has no rate yet ("--").
 *
 * OVFKIT_PROGRESS_EVERY=SECONDS sets how often a bar is redrawn or an
 * event written (0: at every report of the library, as the tests want).
 *
 * Modes (--progress=WHEN): auto draws the bar only when stderr is a
 * terminal and -q is not given; bar draws it on stderr even on a pipe;
 * json writes events on stdout whatever -q says (it was asked for);
 * none draws nothing.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "ovfkit/common.h"

#define RATE_WINDOW 5.0         /* seconds the rate is smoothed over */
#define N_SAMPLES 64            /* ring of (time, done) samples */
#define SAMPLE_EVERY 0.1        /* seconds between samples */
#define BAR_EVERY 0.1           /* seconds between redraws */
#define EVENT_EVERY 0.5         /* seconds between JSON events */
#define MAX_WIDTH 512           /* a line never gets longer than this */

struct sample {
    double t;
    uint64_t done;
};

static struct {
    bool active;                /* a step is under way */
    char phase[64];
    unsigned step;
    uint64_t done, total;
    double start, last_draw, last_event;
    struct sample ring[N_SAMPLES];
    unsigned n, head;           /* samples kept, next slot */
    bool drawn;                 /* a bar line is on the terminal */
} P;

/* seconds between two draws or events: OVFKIT_PROGRESS_EVERY, else
 * dflt */
static double every(double dflt)
{
    const char *e = getenv("OVFKIT_PROGRESS_EVERY");
    char *end;
    double v;

    if (!e || !*e) {
        return dflt;
    }
    v = strtod(e, &end);
    return *end == '\0' && v >= 0 ? v : dflt;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* the mode that applies to this run: auto resolved against -q and
 * whether stderr is a terminal */
static enum cli_progress_mode mode(void)
{
    switch (g.progress) {
    case CLI_PROGRESS_AUTO:
        return !g.quiet && isatty(STDERR_FILENO) ? CLI_PROGRESS_BAR
                                                 : CLI_PROGRESS_NONE;
    default:
        return g.progress;
    }
}

bool cli_progress_json(void)
{
    return g.progress == CLI_PROGRESS_JSON;
}

int cli_progress_mode_parse(const char *text, enum cli_progress_mode *out)
{
    static const struct {
        const char *name;
        enum cli_progress_mode m;
    } modes[] = {
        { "auto", CLI_PROGRESS_AUTO }, { "bar", CLI_PROGRESS_BAR },
        { "json", CLI_PROGRESS_JSON }, { "none", CLI_PROGRESS_NONE },
    };

    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        if (text && strcmp(text, modes[i].name) == 0) {
            *out = modes[i].m;
            return 0;
        }
    }
    return -1;
}

static void sample(double t, uint64_t done)
{
    P.ring[P.head] = (struct sample){ t, done };
    P.head = (P.head + 1) % N_SAMPLES;
    if (P.n < N_SAMPLES) {
        P.n++;
    }
}

/* bytes per second over the window, or a negative number when there is
 * not yet enough to tell */
static double rate(double t, bool final)
{
    const struct sample *old = NULL;

    if (final) {
        /* the whole step: what a log wants to read at the end */
        double dt = t - P.start;
        return dt > 0 ? (double)P.done / dt : -1;
    }
    for (unsigned k = 0; k < P.n; k++) {
        const struct sample *s =
            &P.ring[(P.head + N_SAMPLES - P.n + k) % N_SAMPLES];
        if (t - s->t <= RATE_WINDOW) {
            old = s;
            break;
        }
    }
    if (!old || t - old->t < SAMPLE_EVERY || P.done < old->done) {
        return -1;
    }
    return (double)(P.done - old->done) / (t - old->t);
}

/* seconds left, or negative when unknown */
static double eta(double r, bool final)
{
    if (final) {
        /* a step cut short (an error, a warning that ends the line) has
         * no time left to show */
        return P.total == 0 || P.done >= P.total ? 0 : -1;
    }
    if (r <= 0 || P.total == 0 || P.done > P.total) {
        return -1;
    }
    return (double)(P.total - P.done) / r;
}

static void fmt_rate(double r, char *buf, size_t len)
{
    char sz[32];

    if (r < 0) {
        snprintf(buf, len, "--/s");
        return;
    }
    snprintf(buf, len, "%s/s", ovfk_size_str((uint64_t)r, sz, sizeof(sz)));
}

static void fmt_eta(double s, char *buf, size_t len)
{
    if (s < 0 || s > 99 * 3600.0) {
        snprintf(buf, len, "ETA --:--");
        return;
    }
    unsigned v = (unsigned)(s + 0.999);
    if (v >= 3600) {
        snprintf(buf, len, "ETA %u:%02u:%02u", v / 3600, v / 60 % 60,
                 v % 60);
    } else {
        snprintf(buf, len, "ETA %u:%02u", v / 60, v % 60);
    }
}

static unsigned term_width(void)
{
    struct winsize ws;
    const char *cols = getenv("COLUMNS");

    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
        return ws.ws_col;
    }
    if (cols && atoi(cols) > 0) {
        return (unsigned)atoi(cols);
    }
    return 80;
}

/* "\rexporting  42% [#####     ] 120 MiB/300 MiB  45 MiB/s  ETA 0:04",
 * no wider than the terminal less one column (a full line would wrap on
 * some terminals); the bar takes what the text leaves */
static void draw(double t, bool final)
{
    char line[MAX_WIDTH + 1], right[160], d[32], tot[32], rt[40], et[24];
    char label[80];
    unsigned width = term_width() - 1, pct = 0;
    double r = rate(t, final);
    int n;

    if (width > MAX_WIDTH) {
        width = MAX_WIDTH;
    }
    if (P.total) {
        uint64_t dn = P.done > P.total ? P.total : P.done;
        pct = (unsigned)(dn * 100 / P.total);
    }
    fmt_rate(r, rt, sizeof(rt));
    fmt_eta(eta(r, final), et, sizeof(et));
    ovfk_size_str(P.done, d, sizeof(d));
    if (P.total) {
        snprintf(right, sizeof(right), " %3u%% %s/%s  %s  %s", pct, d,
                 ovfk_size_str(P.total, tot, sizeof(tot)), rt, et);
    } else {
        snprintf(right, sizeof(right), " %s  %s  %s", d, rt, et);
    }
    if (P.step > 1) {
        snprintf(label, sizeof(label), "%s (%u)", P.phase, P.step);
    } else {
        snprintf(label, sizeof(label), "%s", P.phase);
    }
    size_t rl = strlen(right), ll = strlen(label);
    if (rl >= width) {
        /* a very narrow terminal: the numbers, cut */
        n = snprintf(line, sizeof(line), "%.*s", (int)width, right + 1);
    } else {
        unsigned room = width - (unsigned)rl;
        if (ll > room / 2) {
            ll = room / 2;
        }
        unsigned bar = room > ll + 4 ? room - (unsigned)ll - 4 : 0;
        if (bar > 40) {
            bar = 40;
        }
        char b[41];
        unsigned fill = P.total ? bar * pct / 100 : 0;
        memset(b, '#', fill);
        memset(b + fill, ' ', bar - fill);
        b[bar] = '\0';
        if (bar >= 4 && P.total) {
            n = snprintf(line, sizeof(line), "%-*.*s [%s]%s", (int)ll,
                         (int)ll, label, b, right);
        } else {
            n = snprintf(line, sizeof(line), "%-*.*s%s", (int)ll, (int)ll,
                         label, right);
        }
    }
    /* \r and then clear to the end of the line: a shorter text must not
     * leave the tail of the longer one */
    fprintf(stderr, "\r%s\033[K", line);
    (void)n;
    fflush(stderr);
    P.drawn = true;
    P.last_draw = t;
}

/* x >= 0 with the given decimals, written as such ("0.1", not json-c's
 * "0.10000000000000001") */
static json_object *decimal(double x, int decimals)
{
    char buf[48];

    snprintf(buf, sizeof(buf), "%.*f", decimals, x);
    return json_object_new_double_s(x, buf);
}

static void event(double t, bool final)
{
    json_object *o = json_object_new_object();
    double r = rate(t, final), e = eta(r, final);
    uint64_t total = final && P.total == 0 ? P.done : P.total;

    json_object_object_add(o, "event", json_object_new_string("progress"));
    json_object_object_add(o, "phase", json_object_new_string(P.phase));
    json_object_object_add(o, "step", json_object_new_uint64(P.step));
    json_object_object_add(o, "done", json_object_new_uint64(P.done));
    json_object_object_add(o, "total", json_object_new_uint64(total));
    json_object_object_add(o, "rate", r < 0 ? NULL :
                           json_object_new_uint64((uint64_t)r));
    json_object_object_add(o, "eta", e < 0 ? NULL :
                           decimal(e, 1));
    json_object_object_add(o, "elapsed", decimal(t - P.start, 2));
    json_object_object_add(o, "final", json_object_new_boolean(final));
    puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                           JSON_C_TO_STRING_NOSLASHESCAPE));
    fflush(stdout);
    json_object_put(o);
    P.last_event = t;
}

/* close the step under way: the final event, or the bar's last draw and
 * its newline */
static void end_step(void)
{
    double t = now_s();

    if (!P.active) {
        return;
    }
    switch (mode()) {
    case CLI_PROGRESS_JSON:
        event(t, true);
        break;
    case CLI_PROGRESS_BAR:
        draw(t, true);
        fputc('\n', stderr);
        P.drawn = false;
        break;
    default:
        break;
    }
    P.active = false;
}

int cli_progress(void *opaque, uint64_t done, uint64_t total)
{
    const char *label = opaque ? opaque : "working";
    enum cli_progress_mode m = mode();
    double t;

    if (cli_progress_stop()) {
        return 1;           /* SIGINT/SIGTERM: the library stops */
    }
    if (m == CLI_PROGRESS_NONE) {
        return 0;
    }
    t = now_s();
    if (P.active && (strcmp(label, P.phase) != 0 || done < P.done ||
                     total != P.total)) {
        bool same = strcmp(label, P.phase) == 0;
        unsigned step = P.step;
        end_step();
        P.step = same ? step + 1 : 1;
    } else if (!P.active) {
        P.step = strcmp(label, P.phase) == 0 && P.step ? P.step + 1 : 1;
    }
    if (!P.active) {
        snprintf(P.phase, sizeof(P.phase), "%s", label);
        P.active = true;
        P.start = t;
        P.n = P.head = 0;
        P.done = done;
        P.total = total;
        sample(t, done);
        if (m == CLI_PROGRESS_JSON) {
            event(t, false);
        } else {
            draw(t, false);
        }
        return 0;
    }
    P.done = done;
    if (P.n == 0 || t - P.ring[(P.head + N_SAMPLES - 1) % N_SAMPLES].t >=
                    SAMPLE_EVERY) {
        sample(t, done);
    }
    if (m == CLI_PROGRESS_JSON) {
        if (t - P.last_event >= every(EVENT_EVERY)) {
            event(t, false);
        }
    } else if (t - P.last_draw >= every(BAR_EVERY)) {
        draw(t, false);
    }
    return 0;
}

void cli_progress_pause(void)
{
    /* the bar's line is left as it is; the next report draws on a new
     * line, in the same step (JSON events go on: stdout is not stderr) */
    if (P.drawn) {
        fputc('\n', stderr);
        P.drawn = false;
    }
}

void cli_progress_done(void)
{
    end_step();
    /* the next operation's first phase is step 1 again */
    P.phase[0] = '\0';
    P.step = 0;
}
