/*
 * Command-line handling shared by the bounded-concurrency examples. Each
 * example takes up to EXAMPLE_MAX_ARGS positional decimal counts. For
 * --help or -h it prints its usage on stdout and exits with status 0. On
 * invalid usage it prints one message and the usage line on stderr and
 * exits with status 2.
 */
#ifndef EXAMPLE_CLI_H
#define EXAMPLE_CLI_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXAMPLE_MAX_ARGS 2

/* One positional count argument. */
typedef struct example_arg {
    const char *name;
    const char *meaning;  /* what the value sets, for --help */
    long        max;      /* largest valid value */
    long        fallback; /* value when the argument is omitted, or -1 for none */
    bool        is_index; /* valid values are below the first argument's value */
} example_arg;

/* The command line of one example program. */
typedef struct example_cli {
    const char *program;
    const char *summary;      /* what the program does, one or more whole lines */
    const char *exit_failure; /* when the program exits with status 1 */
    int         arg_count;
    example_arg args[EXAMPLE_MAX_ARGS];
} example_cli;

static void example_print_synopsis(const example_cli *cli, FILE *out)
{
    fprintf(out, "usage: %s", cli->program);
    for (int i = 0; i < cli->arg_count; i++)
        fprintf(out, " [%s", cli->args[i].name);
    for (int i = 0; i < cli->arg_count; i++)
        fputc(']', out);
    fputc('\n', out);
}

static void example_print_help(const example_cli *cli)
{
    example_print_synopsis(cli, stdout);
    printf("\n%s\n", cli->summary);

    for (int i = 0; i < cli->arg_count; i++) {
        const example_arg *arg = &cli->args[i];
        printf("  %-8s %s, ", arg->name, arg->meaning);
        if (arg->is_index)
            printf("0..%s-1", cli->args[0].name);
        else
            printf("0..%ld", arg->max);
        if (arg->fallback < 0)
            printf(" (default: none)\n");
        else
            printf(" (default %ld)\n", arg->fallback);
    }

    printf("\nExit status:\n"
           "  0  success\n"
           "  1  %s\n"
           "  2  invalid usage\n",
           cli->exit_failure);
}

/* Prints "program: message", the usage line and a pointer to --help on
 * stderr, then exits with status 2. */
static void example_usage_error(const example_cli *cli, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    fprintf(stderr, "%s: ", cli->program);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);

    example_print_synopsis(cli, stderr);
    fprintf(stderr, "Run '%s --help' for the arguments and their ranges.\n", cli->program);
    exit(2);
}

/* Parses the whole of text as a decimal count in 0..max. A leading digit is
 * required because strtol would also accept blanks and a sign. */
static bool example_parse_count(const char *text, long max, long *out)
{
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || errno != 0 || *end != '\0' || value > max)
        return false;
    *out = value;
    return true;
}

/* Checks and stores argument i, whose text is given. */
static void example_parse_arg(const example_cli *cli, int i, const char *text, long *values)
{
    const example_arg *arg = &cli->args[i];
    long max = arg->max;

    if (arg->is_index) {
        max = values[0] - 1;
        if (max < 0)
            example_usage_error(cli, "invalid %s '%s': %s is 0, so no index is valid. Omit %s.",
                                arg->name, text, cli->args[0].name, arg->name);
    }

    if (!example_parse_count(text, max, &values[i])) {
        if (arg->is_index)
            example_usage_error(cli, "invalid %s '%s': expected an index 0..%ld (%s is %ld)",
                                arg->name, text, max, cli->args[0].name, values[0]);
        example_usage_error(cli, "invalid %s '%s': expected 0..%ld", arg->name, text, max);
    }
}

/*
 * Fills values[0 .. cli->arg_count) from argv, using each argument's
 * fallback where it is omitted. Prints the help and exits with status 0
 * when any argument is --help or -h. Exits with status 2 after a message
 * on an unknown option, too many arguments or an invalid value.
 */
static void example_parse_args(const example_cli *cli, int argc, char **argv, long *values)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            example_print_help(cli);
            exit(0);
        }
    }

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        bool is_option = arg[0] == '-' && (arg[1] < '0' || arg[1] > '9');
        if (is_option)
            example_usage_error(cli, "unknown option '%s'", arg);
    }
    if (argc - 1 > cli->arg_count)
        example_usage_error(cli, "too many arguments: %d given, at most %d", argc - 1,
                            cli->arg_count);

    for (int i = 0; i < cli->arg_count; i++) {
        values[i] = cli->args[i].fallback;
        if (i + 1 < argc)
            example_parse_arg(cli, i, argv[i + 1], values);
    }
}

#endif
