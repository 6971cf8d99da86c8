// ptrace_death: what the kernel does to a tracee thread stopped on an int3 when its tracer dies —
// the facts docs/tracer-death.md builds the guardian on. Build and run:
//
//   gcc -O2 -o /tmp/ptrace_death tools/ptrace_death.c && /tmp/ptrace_death
//
// A child with a SIGTRAP handler executes an int3 while a tracer holds it; the tracer is then
// killed with SIGKILL, either after it collected the stop with waitpid() ("collected") or
// before ("uncollected"), and the child reports whether its handler ran and where it went on.
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t handled;

static void on_trap(int sig) {
  (void)sig;
  handled = 1;
}

static void trial(int collect) {
  int stopped[2];
  if (pipe(stopped) != 0) exit(1);
  pid_t child = fork();
  if (child == 0) {
    signal(SIGTRAP, on_trap);
    usleep(200000);                 // let the tracer seize us
    __asm__ volatile("int3");       // a breakpoint's trap: SIGTRAP, RIP one past the int3
    usleep(300000);                 // by now the tracer is dead
    printf("  %-12s SIGTRAP handler %s; the thread went on after the int3\n",
           collect ? "collected:" : "uncollected:", handled ? "RAN (a Go program dies here)" : "did not run");
    fflush(stdout);
    _exit(0);
  }
  pid_t tracer = fork();
  if (tracer == 0) {
    if (ptrace(PTRACE_SEIZE, child, 0, 0) != 0) _exit(1);
    if (collect) {
      int status;
      waitpid(child, &status, __WALL);  // the int3's signal-delivery-stop, collected
    } else {
      usleep(400000);  // the child stops on its int3; nobody collects the stop
    }
    if (write(stopped[1], "s", 1) != 1) _exit(1);
    pause();
  }
  char c;
  if (read(stopped[0], &c, 1) != 1) exit(1);
  usleep(50000);
  kill(tracer, SIGKILL);
  waitpid(tracer, NULL, 0);
  waitpid(child, NULL, 0);
  close(stopped[0]);
  close(stopped[1]);
}

int main(void) {
  printf("A thread stopped on an int3 when its tracer is SIGKILLed:\n");
  fflush(stdout);
  trial(1);
  trial(0);
  return 0;
}
