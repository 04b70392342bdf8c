/* `ringload serve`, the built-in target server (SPEC.md). */
#ifndef RINGLOAD_SERVE_H
#define RINGLOAD_SERVE_H

/* argv[0] is "serve". Returns the process exit code. */
int rl_serve_main(int argc, char **argv);

#endif
