/*
 * pause: the sandbox ("infra") process of every pod. Holds the pod's namespaces, sleeps until SIGTERM
 * or SIGINT, and reaps every child re-parented to it (it is PID 1 when the pod shares one PID
 * namespace). Built statically by scripts/images/recipes/pause.sh; no libraries at run time.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t stop_signal = 0;

static void on_stop(int sig) { stop_signal = sig; }

static void on_child(int sig) {
  (void)sig;
  int saved = errno;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
  errno = saved;
}

int main(int argc, char **argv) {
  if (argc > 1 && (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--version") == 0)) {
    puts("pause (stackbackup) 1.0");
    return 0;
  }
  struct sigaction stop = {0};
  stop.sa_handler = on_stop;
  sigemptyset(&stop.sa_mask);
  struct sigaction child = {0};
  child.sa_handler = on_child;
  child.sa_flags = SA_NOCLDSTOP | SA_RESTART;
  sigemptyset(&child.sa_mask);
  if (sigaction(SIGINT, &stop, NULL) < 0 || sigaction(SIGTERM, &stop, NULL) < 0 || sigaction(SIGCHLD, &child, NULL) < 0) {
    perror("pause: sigaction");
    return 1;
  }
  if (getpid() != 1) fputs("pause: warning: not PID 1; only children of this process are reaped\n", stderr);
  while (!stop_signal) pause();
  fprintf(stderr, "pause: shutting down on signal %d\n", (int)stop_signal);
  return 0;
}
