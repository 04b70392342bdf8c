/* The verbs beside `run`, and the options they share. */
#ifndef RINGLOAD_CLI_VERB_H
#define RINGLOAD_CLI_VERB_H

int rl_compare_main(int argc, char **argv); /* compare.c */
int rl_merge_main(int argc, char **argv);   /* merge.c */
int rl_report_main(int argc, char **argv);  /* report.c */

/* A saved-result verb's options, -o VALUE and -h: -1 to go on (*out set if -o was given,
 * optind at the first operand), or the exit code: 0 after printing help, 2 after naming
 * an unknown option. */
int rl_verb_options(int argc, char **argv, const char *verb, const char *help, const char **out);

#endif
