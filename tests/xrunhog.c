/* xrunhog — forces JACK xruns, reproducibly: every CPU busy above JACK's priority for a few
 * milliseconds at random intervals.
 *
 * Usage: xrunhog [-s SEED] [-b MIN-MAX] [-i MIN-MAX] [-P PRIO] [-d SECONDS]
 *   -b MIN-MAX  burst length in ms (default 2-12)
 *   -i MIN-MAX  pause between bursts in ms (default 50-300)
 *   -P PRIO     SCHED_FIFO priority (default 95; jackd -R runs at 10, its clients below)
 *   -s SEED     the random sequence of bursts and pauses (default 1)
 *   -d SECONDS  stop after this long (default: until SIGINT/SIGTERM)
 *
 * One thread per online CPU, pinned to it, at SCHED_FIFO PRIO; they spin together for each
 * burst, so nothing of lower priority runs anywhere for that long: JACK's driver and clients
 * wake late, which is how a loaded machine makes xruns.  Bursts are far below the kernel's
 * real-time throttling budget (sched_rt_runtime_us, 95% by default).  On exit prints
 * "xrunhog: N bursts, T ms" on stdout.  Exit status 0; 77 when SCHED_FIFO is not allowed (not
 * root, no RLIMIT_RTPRIO), so that a test can skip; 2 on usage errors. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_CPUS 64

static pthread_barrier_t start_bar, end_bar;
static atomic_long burst_until_ns; /* CLOCK_MONOTONIC; 0 = quit */
static volatile sig_atomic_t stop;

static long
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static void
on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* Spins through every burst it is released for, until told to quit. */
static void *
spinner(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_barrier_wait(&start_bar);
        long until = atomic_load(&burst_until_ns);
        if (until == 0)
            return NULL;
        while (now_ns() < until) {
        }
        pthread_barrier_wait(&end_bar);
    }
}

static int
parse_range(const char *s, long *lo, long *hi)
{
    char *end;
    *lo = strtol(s, &end, 10);
    if (end == s || *end != '-')
        return -1;
    s = end + 1;
    *hi = strtol(s, &end, 10);
    return end == s || *end || *lo < 0 || *hi < *lo ? -1 : 0;
}

static int
set_fifo(pthread_t t, int cpu, int prio)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    struct sched_param p = {.sched_priority = prio};
    int r = pthread_setaffinity_np(t, sizeof set, &set);
    return r ? r : pthread_setschedparam(t, SCHED_FIFO, &p);
}

int
main(int argc, char **argv)
{
    long bmin = 2, bmax = 12, imin = 50, imax = 300;
    int prio = 95, opt;
    unsigned seed = 1;
    double seconds = 0;

    while ((opt = getopt(argc, argv, "s:b:i:P:d:")) != -1) {
        switch (opt) {
        case 's':
            seed = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'b':
            if (parse_range(optarg, &bmin, &bmax) != 0 || bmax > 200) {
                fprintf(stderr, "xrunhog: -b wants MIN-MAX ms (at most 200)\n");
                return 2;
            }
            break;
        case 'i':
            if (parse_range(optarg, &imin, &imax) != 0 || imin < 10) {
                fprintf(stderr, "xrunhog: -i wants MIN-MAX ms (at least 10)\n");
                return 2;
            }
            break;
        case 'P':
            prio = atoi(optarg);
            if (prio < 1 || prio > 99) {
                fprintf(stderr, "xrunhog: -P wants 1..99\n");
                return 2;
            }
            break;
        case 'd':
            seconds = atof(optarg);
            break;
        default:
            fprintf(stderr, "usage: xrunhog [-s SEED] [-b MIN-MAX] [-i MIN-MAX] [-P PRIO] "
                            "[-d SECONDS]\n");
            return 2;
        }
    }
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (ncpu < 1 || ncpu > MAX_CPUS)
        ncpu = ncpu < 1 ? 1 : MAX_CPUS;
    /* The main thread sleeps between bursts and spins on CPU 0 during them. */
    if (set_fifo(pthread_self(), 0, prio) != 0) {
        fprintf(stderr, "xrunhog: SCHED_FIFO %d not allowed: %s\n", prio, strerror(EPERM));
        return 77;
    }
    pthread_barrier_init(&start_bar, NULL, (unsigned)ncpu);
    pthread_barrier_init(&end_bar, NULL, (unsigned)ncpu);
    pthread_t t[MAX_CPUS];
    for (long c = 1; c < ncpu; c++) {
        pthread_attr_t a;
        pthread_attr_init(&a);
        if (pthread_create(&t[c], &a, spinner, NULL) != 0 || set_fifo(t[c], (int)c, prio) != 0) {
            fprintf(stderr, "xrunhog: cannot start a spinner on CPU %ld\n", c);
            return 1;
        }
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    long end = seconds > 0 ? now_ns() + (long)(seconds * 1e9) : 0, bursts = 0, spun = 0;
    while (!stop && (!end || now_ns() < end)) {
        long pause = imin + (long)(rand_r(&seed) % (unsigned)(imax - imin + 1));
        long burst = bmin + (long)(rand_r(&seed) % (unsigned)(bmax - bmin + 1));
        struct timespec ts = {pause / 1000, pause % 1000 * 1000000L};
        nanosleep(&ts, NULL);
        if (stop)
            break;
        atomic_store(&burst_until_ns, now_ns() + burst * 1000000L);
        pthread_barrier_wait(&start_bar);
        long until = atomic_load(&burst_until_ns);
        while (now_ns() < until) {
        }
        pthread_barrier_wait(&end_bar);
        bursts++;
        spun += burst;
    }
    atomic_store(&burst_until_ns, 0);
    pthread_barrier_wait(&start_bar);
    for (long c = 1; c < ncpu; c++)
        pthread_join(t[c], NULL);
    printf("xrunhog: %ld bursts, %ld ms\n", bursts, spun);
    return 0;
}
