/*
 * tuxtape completion bash: a bash completion script generated from the command tables.
 *
 * Commands and subcommands come from the tables main.c dispatches through; each command's
 * options come from its own --help (the program runs itself once per command), so the script
 * can never offer a command that does not exist, and tests/cli/completion.sh checks that every
 * option it offers is one the command accepts.
 */
#include <ctype.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"
#include "strbuf.h"

/* Runs "tuxtape WORDS... --help" and returns its standard output, or NULL. */
static char *help_of(char **words, size_t n)
{
	struct strbuf out = STRBUF_INIT;
	char *argv[8];
	int fds[2], status;
	char buf[4096];
	ssize_t k;
	pid_t pid;

	if (n + 3 > ARRAY_SIZE(argv) || pipe2(fds, O_CLOEXEC) < 0)
		return NULL;
	argv[0] = (char *)"tuxtape";
	for (size_t i = 0; i < n; i++)
		argv[i + 1] = words[i];
	argv[n + 1] = (char *)"--help";
	argv[n + 2] = NULL;
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return NULL;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(fds[1], STDOUT_FILENO);
		if (null >= 0)
			dup2(null, STDERR_FILENO);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(fds[1]);
	while ((k = read(fds[0], buf, sizeof(buf))) != 0) {
		if (k < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		strbuf_add(&out, buf, (size_t)k);
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		strbuf_release(&out);
		return NULL;
	}
	return strbuf_detach(&out);
}

/*
 * Appends to OPTS (space-separated) the options listed in the "options:" section of HELP, and
 * to ARGOPTS those followed by an argument ("--kernel NAME"), each as "OPT=KIND" where KIND is
 * file, dir, kernel or value. A line lists options when it starts with two spaces and a dash;
 * several may share it ("--title TEXT, --note TEXT"); two spaces end the list.
 */
static void parse_options(const char *help, struct strbuf *opts, struct strbuf *argopts)
{
	const char *p = strstr(help, "\noptions:\n");

	if (!p)
		return;
	for (p = strchr(p + 1, '\n') + 1; *p && *p != '\n';) {
		const char *q = p, *names[4], *eol = strchrnul(p, '\n');
		size_t lens[4], n = 0;

		p = *eol ? eol + 1 : eol; /* the next line, never past the end */
		if (!startswith(q, "  -"))
			continue;
		q += 2;
		/* "-n, --limit N": the argument belongs to every name before it */
		while (*q == '-') {
			size_t nl = strcspn(q, " ,\n");
			const char *a, *kind = "value";
			size_t al;

			strbuf_addf(opts, " %.*s", (int)nl, q);
			if (n < ARRAY_SIZE(names)) {
				names[n] = q;
				lens[n++] = nl;
			}
			q += nl;
			if (q[0] == ' ' && q[1] && q[1] != ' ' && q[1] != '-') {
				a = q + 1;
				al = strcspn(a, " ,\n");
				if (startswith(a, "FILE") || startswith(a, "PATH") || startswith(a, "OUT"))
					kind = "file";
				else if (startswith(a, "DIR"))
					kind = "dir";
				else if (al == 4 && startswith(a, "NAME") && nl == 8 &&
					 startswith(q - nl, "--kernel"))
					kind = "kernel";
				for (size_t i = 0; i < n; i++)
					strbuf_addf(argopts, " %.*s=%s", (int)lens[i], names[i], kind);
				n = 0;
				q = a + al;
			}
			if (q[0] == ',' && q[1] == ' ')
				q += 2;
			else
				break;
		}
	}
}

/* One arm of the script's case: a command path, its subcommands, options and their kinds. */
static void emit_case(FILE *f, const char *path, const char *subs, const struct strbuf *opts,
		      const struct strbuf *argopts)
{
	fprintf(f, "    \"%s\") subs=\"%s\" opts=\"%s\" argopts=\"%s\" ;;\n", path, subs,
		opts->len ? strbuf_str(opts) + 1 : "", argopts->len ? strbuf_str(argopts) + 1 : "");
}

static int walk(FILE *f, const struct cmd *table, char **words, size_t depth)
{
	struct strbuf subs = STRBUF_INIT, path = STRBUF_INIT;
	struct strbuf none = STRBUF_INIT;
	int r = 0;

	for (size_t i = 0; i < depth; i++)
		strbuf_addf(&path, "%s%s", i ? " " : "", words[i]);
	for (const struct cmd *c = table; c->name; c++)
		strbuf_addf(&subs, "%s%s", subs.len ? " " : "", c->name);
	emit_case(f, strbuf_str(&path), strbuf_str(&subs), &none, &none);

	for (const struct cmd *c = table; c->name && r == 0; c++) {
		words[depth] = (char *)c->name;
		if (c->sub) {
			r = walk(f, c->sub, words, depth + 1);
		} else {
			struct strbuf opts = STRBUF_INIT, argopts = STRBUF_INIT, leaf = STRBUF_INIT;
			_cleanup_free_ char *help = help_of(words, depth + 1);

			if (!help) {
				r = log_error_errno(-EIO, "'%s %s --help' failed", strbuf_str(&path),
						    c->name);
			} else {
				parse_options(help, &opts, &argopts);
				strbuf_addf(&leaf, "%s%s%s", strbuf_str(&path), depth ? " " : "",
					    c->name);
				emit_case(f, strbuf_str(&leaf), "", &opts, &argopts);
			}
			strbuf_release(&opts);
			strbuf_release(&argopts);
			strbuf_release(&leaf);
		}
	}
	strbuf_release(&subs);
	strbuf_release(&path);
	return r;
}

/* The part of the script that does not depend on the tables. */
static const char script_head[] =
	"# bash completion for tuxtape. Generated by 'tuxtape completion bash' from the\n"
	"# program's command tables and each command's --help: regenerate, do not edit.\n"
	"\n"
	"_tuxtape_words() { # the known command path of the words before the cursor\n"
	"    local i w cand path=\"\"\n"
	"    for ((i = 1; i < COMP_CWORD; i++)); do\n"
	"        w=${COMP_WORDS[i]}\n"
	"        case $w in\n"
	"        --db) ((i++)); continue ;;\n"
	"        -*) continue ;;\n"
	"        esac\n"
	"        cand=${path:+$path }$w\n"
	"        _tuxtape_table \"$cand\" || break\n"
	"        path=$cand\n"
	"    done\n"
	"    printf '%s' \"$path\"\n"
	"}\n"
	"\n"
	"_tuxtape() {\n"
	"    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
	"    local path subs opts argopts kind=\"\" a i db=()\n"
	"    local global=\"--db --json -v --verbose -q --quiet -h --help\"\n"
	"    COMPREPLY=()\n"
	"    path=$(_tuxtape_words)\n"
	"    _tuxtape_table \"$path\"\n"
	"    [[ -n $path ]] || global+=\" --version\"\n"
	"    if [[ $prev == --db ]]; then kind=file; fi\n"
	"    for ((i = 1; i < COMP_CWORD; i++)); do # the database the line names, for kernel names\n"
	"        case ${COMP_WORDS[i]} in\n"
	"        --db) db=(--db \"${COMP_WORDS[i+1]}\") ;;\n"
	"        --db=*) db=(\"${COMP_WORDS[i]}\") ;;\n"
	"        esac\n"
	"    done\n"
	"    for a in $argopts; do\n"
	"        [[ ${a%%=*} == \"$prev\" ]] && kind=${a#*=}\n"
	"    done\n"
	"    case $kind in\n"
	"    file) COMPREPLY=($(compgen -f -- \"$cur\")); compopt -o filenames 2>/dev/null; return ;;\n"
	"    dir) COMPREPLY=($(compgen -d -- \"$cur\")); compopt -o filenames 2>/dev/null; return ;;\n"
	"    kernel) COMPREPLY=($(compgen -W \"$(\"${COMP_WORDS[0]}\" \"${db[@]}\" -q kernel list --format csv \\\n"
	"                2>/dev/null | awk -F, 'NR > 1 {print $1}')\" -- \"$cur\")); return ;;\n"
	"    value) return ;;\n"
	"    esac\n"
	"    if [[ $cur == -* ]]; then\n"
	"        COMPREPLY=($(compgen -W \"$opts $global\" -- \"$cur\"))\n"
	"    elif [[ -n $subs ]]; then\n"
	"        COMPREPLY=($(compgen -W \"$subs\" -- \"$cur\"))\n"
	"    else\n"
	"        COMPREPLY=($(compgen -f -- \"$cur\")); compopt -o filenames 2>/dev/null\n"
	"    fi\n"
	"}\n"
	"\n"
	"_tuxtape_table() { # sets subs, opts and argopts for a command path; fails if unknown\n"
	"    subs=\"\" opts=\"\" argopts=\"\"\n"
	"    case $1 in\n";

static const char script_tail[] =
	"    *) return 1 ;;\n"
	"    esac\n"
	"}\n"
	"\n"
	"complete -F _tuxtape tuxtape\n";

int cmd_completion(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { CLI_HELP_OPTION, {} };
	static const char text[] =
		"  -h, --help       this help\n"
		"\n"
		"Prints a bash completion script for tuxtape on stdout, made from its\n"
		"command tables and each command's --help. 'meson install' installs it\n"
		"(in bash-completion's directory); to try it in a shell:\n"
		"  source <(tuxtape completion bash)\n";
	char *words[8];
	int c, r;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1)
		return c == 'h' ? cli_help(cli, text) : EXIT_USAGE;
	if (argc - optind != 1)
		return cli_usage_error(cli, "expected one shell: bash");
	if (!streq(argv[optind], "bash"))
		return cli_usage_error(cli, "'%s': only bash is supported", argv[optind]);
	fputs(script_head, stdout);
	r = walk(stdout, cli_top_table, words, 0);
	if (r < 0)
		return cli_exit(r);
	fputs(script_tail, stdout);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_ERROR;
}
