/* SPDX-License-Identifier: MIT */
/* `airlock run`'s options, and the rules, asks and hidden paths they turn into. */
#include "common/json.h"
#include "supervisor/cli/cli.h"
#include "supervisor/supervise/run_int.h"

#include <limits.h>

enum {
	OPT_ASK = 256,
	OPT_REVIEW,
	OPT_JSON,
	OPT_NET,
	OPT_TIMEOUT,
	OPT_CPU,
	OPT_MEMORY,
	OPT_PIDS,
	OPT_FSIZE,
	OPT_OUTPUT_LIMIT,
	OPT_ENV,
	OPT_KEEP_ENV,
	OPT_CAPTURE,
	OPT_HIDE,
	OPT_READONLY,
	OPT_SCRATCH,
	OPT_ASK_TIMEOUT,
	OPT_DNS_UPSTREAM,
	OPT_REPLAY,
	OPT_LOG_SYSLOG,
	OPT_HELP,
	OPT_NAME,
	OPT_IDLE,
};

static const struct option run_options[] = {
	{"rules", required_argument, NULL, 'r'},
	{"ask", required_argument, NULL, OPT_ASK},
	{"review", required_argument, NULL, OPT_REVIEW},
	{"json", no_argument, NULL, OPT_JSON},
	{"net", required_argument, NULL, OPT_NET},
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{"cpu", required_argument, NULL, OPT_CPU},
	{"memory", required_argument, NULL, OPT_MEMORY},
	{"pids", required_argument, NULL, OPT_PIDS},
	{"fsize", required_argument, NULL, OPT_FSIZE},
	{"output-limit", required_argument, NULL, OPT_OUTPUT_LIMIT},
	{"env", required_argument, NULL, OPT_ENV},
	{"keep-env", no_argument, NULL, OPT_KEEP_ENV},
	{"capture", no_argument, NULL, OPT_CAPTURE},
	{"hide", required_argument, NULL, OPT_HIDE},
	{"readonly", required_argument, NULL, OPT_READONLY},
	{"scratch", required_argument, NULL, OPT_SCRATCH},
	{"ask-timeout", required_argument, NULL, OPT_ASK_TIMEOUT},
	{"dns-upstream", required_argument, NULL, OPT_DNS_UPSTREAM},
	{"replay", required_argument, NULL, OPT_REPLAY},
	{"log-syslog", no_argument, NULL, OPT_LOG_SYSLOG},
	{"help", no_argument, NULL, OPT_HELP},
	{"name", required_argument, NULL, OPT_NAME},
	{"idle", required_argument, NULL, OPT_IDLE},
	{NULL, 0, NULL, 0},
};

const struct option *run_option_table(void)
{
	return run_options;
}

static const char run_usage[] =
	"usage: airlock run [options] [--] command [arg...]\n"
	"\n"
	"  -r, --rules FILE       add a rules file (repeatable; later files win; see\n"
	"                         airlock-rules(5)); the built-in defaults and\n"
	"                         ~/.config/airlock/rules come first\n"
	"      --ask MODE         who answers what the rules leave to 'ask':\n"
	"                         tty (default on a terminal): a prompt on the terminal\n"
	"                         attend (airlock start only): 'airlock attend' answers\n"
	"                         deny (default otherwise) | allow: nobody, always that answer\n"
	"                         fd:N: a controller, JSON lines on descriptor N\n"
	"      --ask-timeout DUR  how long an ask waits before it is denied (default 60s)\n"
	"      --replay ID        answers given in session ID answer the same asks again\n"
	"      --json             print one JSON result on stdout; output is captured into it\n"
	"      --capture          capture output into the session (and redact secrets)\n"
	"      --net MODE         mediated (default): the sandbox has its own loopback; each\n"
	"                         destination outside is decided by the connect rules and asks,\n"
	"                         and an allowed one is connected by airlock (denied: EACCES);\n"
	"                         the host's loopback and own addresses need a rule naming\n"
	"                         them (localhost:5432, 127.0.0.1:8080), never a looked-up name;\n"
	"                         a name only an ask could open is asked before it is looked up\n"
	"                         none: nothing leaves, every name is NXDOMAIN\n"
	"                         host: the host's network, no decisions, connections recorded\n"
	"      --dns-upstream ADDR[:PORT]  where the sandbox's DNS forwards allowed names\n"
	"                         (default: the first nameserver of /etc/resolv.conf)\n"
	"      --timeout DUR      wall-clock limit (30s, 5m, 1h); exit status 124\n"
	"      --cpu DUR          CPU time of the whole sandbox; exit status 137\n"
	"      --memory SIZE      resident memory of the whole sandbox (default: half the RAM)\n"
	"      --pids N           processes and threads in the sandbox (default: 4096)\n"
	"      --fsize SIZE       largest file a process may write (default: 8G)\n"
	"      --output-limit SIZE  captured stdout and stderr, each (default: 16M)\n"
	"                         (a limit of 'none' or 0 turns it off)\n"
	"      --env NAME[=VAL]   pass a variable, or set one (repeatable)\n"
	"      --keep-env         pass the whole environment\n"
	"      --hide PATH        make PATH absent inside (repeatable)\n"
	"      --readonly PATH    make PATH read-only inside (repeatable)\n"
	"      --scratch DIR      writable inside, thrown away, never reviewed (repeatable)\n"
	"      --review WHEN      auto (default: when stdin and stdout are terminals, without\n"
	"                         --json) | always | never: the review opens when the program\n"
	"                         ends (see 'airlock review --help')\n"
	"      --log-syslog       also send each event to syslog (ident airlock, facility\n"
	"                         user): journald or rsyslog collect it\n";

static const char start_usage[] =
	"usage: airlock start [run options] [--name NAME] [--idle DUR]\n"
	"\n"
	"Start a live session: its sandbox stays up in the background, and each\n"
	"'airlock exec ID -- command' runs in it and sees every earlier change.\n"
	"'airlock stop ID' ends it; then review, commit or discard it as any run.\n"
	"Prints the session's ID.\n"
	"\n"
	"      --name NAME        a name that works wherever the ID does (a letter first,\n"
	"                         then letters, digits, '.', '_' or '-'; at most 64)\n"
	"      --idle DUR         stop the session after DUR without a running step\n"
	"      --timeout DUR      the session's whole life (exit status 124 for the step\n"
	"                         that was running)\n"
	"      --json             print {\"session\": ID} instead of the bare ID\n"
	"  The other options are those of 'airlock run --help' (not --capture, --review):\n"
	"  rules, asks (tty is not available: the session has no terminal; the default is\n"
	"  deny; --ask attend queues them for 'airlock attend'), the network, limits\n"
	"  (counted for the whole session: a limit reached ends it), the environment each\n"
	"  step gets, hidden, read-only and scratch paths.\n";

/* A session name: a letter, then letters, digits, '.', '_', '-'; never read as an ID. */
static bool valid_name(const char *s)
{
	size_t i;

	if (!isalpha((unsigned char)s[0]) || strlen(s) > 64 || strcmp(s, "last") == 0)
		return false;
	for (i = 1; s[i]; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
			return false;
	return true;
}

/* Parse a size limit; "none" and 0 mean no limit. */
static int parse_limit_size(const char *opt, const char *v, unsigned long long *out)
{
	if (strcmp(v, "none") == 0) {
		*out = 0;
		return 0;
	}
	if (parse_size(v, out) < 0) {
		fprintf(stderr, "airlock: %s %s: expected a size such as 512M or 2G, or none\n",
			opt, v);
		return -1;
	}
	return 0;
}

static int parse_limit_duration(const char *opt, const char *v, unsigned long long *out)
{
	if (strcmp(v, "none") == 0) {
		*out = 0;
		return 0;
	}
	if (parse_duration_ms(v, out) < 0) {
		fprintf(stderr,
			"airlock: %s %s: expected a duration such as 30s, 5m or 1h, or none\n", opt,
			v);
		return -1;
	}
	return 0;
}

static void default_limits(struct run_limits *l)
{
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);

	memset(l, 0, sizeof(*l));
	/* The host survives by default: half the RAM, 4096 tasks, 8 GiB files, 16 MiB output. */
	if (pages > 0 && page > 0)
		l->memory = (unsigned long long)pages * (unsigned long long)page / 2;
	l->pids = 4096;
	l->fsize = 8ULL << 30;
	l->output = 16ULL << 20;
}

static int bad_value(const char *opt, const char *value, const char *want)
{
	fprintf(stderr, "airlock: %s %s: %s\n", opt, value, want);
	return EXIT_AIRLOCK_FAILED;
}

/* What `airlock start` refuses of run's options; -1 to go on, else the exit status. */
static int live_opts_check(struct run_opts *o, int nargs)
{
	if (nargs > 0) {
		fputs("airlock: start: takes no command: start the session, then run commands "
		      "in it with 'airlock exec ID -- COMMAND'\n",
		      stderr);
		return EXIT_USAGE;
	}
	if (o->capture && !o->json) {
		fputs("airlock: start: --capture is not for a live session: 'airlock exec --json' "
		      "captures a step's output\n",
		      stderr);
		return EXIT_USAGE;
	}
	if (o->review != REVIEW_AUTO) {
		fputs("airlock: start: --review is not for a live session: 'airlock stop' ends it, "
		      "'airlock review ID' opens the review\n",
		      stderr);
		return EXIT_USAGE;
	}
	if (o->ask == ASK_MODE_TTY && o->ask_given) {
		fputs("airlock: start: --ask tty needs a terminal, which a live session does not "
		      "have: use --ask deny, allow or fd:N\n",
		      stderr);
		return EXIT_USAGE;
	}
	o->capture = false; /* --json: the ID as JSON; each step's output is its exec's */
	return -1;
}

/* --pids N or none; -1 to go on, else the exit status. */
static int parse_pids(const char *v, unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = strcmp(v, "none") == 0 ? 0 : strtoull(v, &end, 10);
	if (strcmp(v, "none") != 0 && (errno || end == v || *end || v[0] == '-'))
		return bad_value("--pids", v, "expected a number, or none");
	/* RLIMIT_NPROC is the limit plus 64: a huge value wrapped around to a tiny
	   one. Linux has at most 4194304 pids (PID_MAX_LIMIT). */
	if (*out > 4194304)
		return bad_value("--pids", v,
				 "expected at most 4194304 (Linux's most pids), or none");
	return -1;
}

/* The sandbox's limits; -1 to go on, else the exit status. */
static int parse_limit_opt(int c, const char *v, struct run_limits *l)
{
	int rc = 0;

	switch (c) {
	case OPT_TIMEOUT:
		rc = parse_limit_duration("--timeout", v, &l->timeout_ms);
		break;
	case OPT_CPU:
		rc = parse_limit_duration("--cpu", v, &l->cpu_ms);
		break;
	case OPT_MEMORY:
		rc = parse_limit_size("--memory", v, &l->memory);
		break;
	case OPT_FSIZE:
		rc = parse_limit_size("--fsize", v, &l->fsize);
		break;
	case OPT_OUTPUT_LIMIT:
		rc = parse_limit_size("--output-limit", v, &l->output);
		break;
	case OPT_PIDS:
		return parse_pids(v, &l->pids);
	}
	return rc < 0 ? EXIT_AIRLOCK_FAILED : -1;
}

/* Who decides what the rules leave open: --ask, --ask-timeout, --replay; -1 to go on. */
static int parse_ask_opt(int c, const char *v, struct run_opts *o)
{
	switch (c) {
	case OPT_ASK:
		if (ask_parse_mode(v, &o->ask, &o->ask_fd) < 0)
			return bad_value("--ask", v,
					 o->live ? "expected deny, allow, fd:N or attend"
						 : "expected tty, deny, allow or fd:N");
		if (o->ask == ASK_MODE_ATTEND && !o->live)
			return bad_value("--ask", v,
					 "only a live session's asks wait for 'airlock "
					 "attend' (airlock start --ask attend)");
		o->ask_given = true;
		break;
	case OPT_ASK_TIMEOUT:
		if (parse_limit_duration("--ask-timeout", v, &o->ask_timeout_ms) < 0)
			return EXIT_AIRLOCK_FAILED;
		break;
	case OPT_REPLAY:
		o->replay = v;
		break;
	}
	return -1;
}

/* --net and --dns-upstream; -1 to go on, else the exit status. */
static int parse_net_opt(int c, const char *v, struct run_opts *o)
{
	if (c == OPT_DNS_UPSTREAM) {
		if (dns_parse_server(v, &o->dns_upstream, &o->dns_upstream_len) < 0)
			return bad_value("--dns-upstream", v,
					 "expected ADDR or ADDR:PORT ([ADDR]:PORT for IPv6)");
		return -1;
	}
	if (strcmp(v, "mediated") == 0)
		o->net = NET_MEDIATED;
	else if (strcmp(v, "none") == 0)
		o->net = NET_NONE;
	else if (strcmp(v, "host") == 0)
		o->net = NET_HOST;
	else
		return bad_value("--net", v, "expected mediated, none or host");
	return -1;
}

/* What the sandbox sees: environment, hidden, read-only and scratch paths. */
static void parse_view_opt(int c, const char *v, struct run_opts *o)
{
	switch (c) {
	case OPT_ENV:
		strvec_add(&o->env, v);
		break;
	case OPT_KEEP_ENV:
		o->keep_env = true;
		break;
	case OPT_HIDE:
		strvec_add(&o->hide, v);
		break;
	case OPT_READONLY:
		strvec_add(&o->readonly, v);
		break;
	case OPT_SCRATCH:
		strvec_add(&o->scratch, v);
		break;
	}
}

/* What becomes of the run's output and changes: --json, --capture, --review, --log-syslog. */
static int parse_output_opt(int c, const char *v, struct run_opts *o)
{
	switch (c) {
	case OPT_JSON:
		o->json = true;
		o->capture = true;
		break;
	case OPT_CAPTURE:
		o->capture = true;
		break;
	case OPT_REVIEW:
		if (review_parse_when(v, &o->review) < 0)
			return bad_value("--review", v, "expected auto, always or never");
		break;
	case OPT_LOG_SYSLOG:
		o->log_syslog = true;
		break;
	}
	return -1;
}

/* `airlock start`'s own --name and --idle; -1 to go on, else the exit status. */
static int parse_live_opt(int c, const char *v, struct run_opts *o)
{
	if (c == OPT_NAME) {
		if (!o->live)
			return bad_value("--name", v, "only 'airlock start' takes a name");
		if (!valid_name(v))
			return bad_value("--name", v,
					 "expected a letter, then letters, digits, '.', '_' "
					 "or '-' (at most 64, not 'last')");
		o->name = v;
		return -1;
	}
	if (!o->live)
		return bad_value("--idle", v, "only 'airlock start' stops when idle");
	if (parse_limit_duration("--idle", v, &o->idle_ms) < 0)
		return EXIT_AIRLOCK_FAILED;
	return -1;
}

/* --help, a missing value or an unknown option: the exit status to stop with. */
static int usage_opt(int c, char **argv, const struct run_opts *o)
{
	const char *usage = o->live ? start_usage : run_usage;
	const char *cmd = o->live ? "start" : "run";

	switch (c) {
	case 'h':
	case OPT_HELP:
		fputs(usage, stdout);
		return 0;
	case ':':
		fprintf(stderr, "airlock: %s: option '%s' needs a value\n%.*s\n", cmd,
			argv[optind - 1], (int)strcspn(usage, "\n"), usage);
		return EXIT_AIRLOCK_FAILED;
	default:
		/* Exit 125, not 2: run's own statuses are the command's (design.md). */
		option_error(cmd, argv[optind - 1], run_options, usage + 7);
		return EXIT_AIRLOCK_FAILED;
	}
}

/* One option of run's; -1 to go on, else the exit status to stop with. */
static int parse_run_opt(int c, char **argv, struct run_opts *o)
{
	switch (c) {
	case 'r':
		strvec_add(&o->rules, optarg);
		return -1;
	case OPT_TIMEOUT:
	case OPT_CPU:
	case OPT_MEMORY:
	case OPT_FSIZE:
	case OPT_OUTPUT_LIMIT:
	case OPT_PIDS:
		return parse_limit_opt(c, optarg, &o->lim);
	case OPT_ASK:
	case OPT_ASK_TIMEOUT:
	case OPT_REPLAY:
		return parse_ask_opt(c, optarg, o);
	case OPT_NET:
	case OPT_DNS_UPSTREAM:
		return parse_net_opt(c, optarg, o);
	case OPT_ENV:
	case OPT_KEEP_ENV:
	case OPT_HIDE:
	case OPT_READONLY:
	case OPT_SCRATCH:
		parse_view_opt(c, optarg, o);
		return -1;
	case OPT_JSON:
	case OPT_CAPTURE:
	case OPT_REVIEW:
	case OPT_LOG_SYSLOG:
		return parse_output_opt(c, optarg, o);
	case OPT_NAME:
	case OPT_IDLE:
		return parse_live_opt(c, optarg, o);
	default:
		return usage_opt(c, argv, o);
	}
}

/* Parse run's options; returns -1 to go on, or the exit status to stop with. */
int parse_run_opts(int argc, char **argv, struct run_opts *o)
{
	int c, rc;

	o->net = NET_MEDIATED;
	o->ask_timeout_ms = 60000;
	o->ask_fd = -1;
	default_limits(&o->lim);
	optind = 1;
	opterr = 0; /* our own messages, with a suggestion for a near miss */
	while ((c = getopt_long(argc, argv, "+:r:h", run_options, NULL)) != -1)
		if ((rc = parse_run_opt(c, argv, o)) >= 0)
			return rc;
	if (o->live)
		return live_opts_check(o, argc - optind);
	if (optind >= argc) {
		fputs("airlock: run: no command given\n", stderr);
		fputs(run_usage, stderr);
		return EXIT_AIRLOCK_FAILED;
	}
	o->command = argv + optind;
	return -1;
}

/* "~/x", "$HOME/x", "./x" or "x" -> absolute, normalised. Caller frees. */
static char *expand_path(const char *p, const char *cwd)
{
	cleanup_free char *joined = NULL;

	if (strcmp(p, "~") == 0 || strncmp(p, "~/", 2) == 0)
		joined = path_join(home_dir(), p[1] ? p + 2 : "");
	else if (strcmp(p, "$HOME") == 0 || strncmp(p, "$HOME/", 6) == 0)
		joined = path_join(home_dir(), p[5] ? p + 6 : "");
	else
		joined = path_join(cwd, p);
	return path_normalize(joined);
}

/* The remembered answer for path, or -1. */
static ssize_t realpaths_find(const struct realpaths *c, const char *path)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->v[i].path, path) == 0)
			return (ssize_t)i;
	return -1;
}

static ssize_t realpaths_remember(struct realpaths *c, const char *path, char *real, int err)
{
	GROW(c->v, c->cap, c->n + 1);
	c->v[c->n] = (struct realpath_entry){.path = xstrdup(path), .real = real, .err = err};
	return (ssize_t)c->n++;
}

/*
 * Resolve path, a normalised absolute path, after its parent: the parent's real path joined
 * with the last name when that is no symlink (readlink() says EINVAL: it exists, and the
 * parent is a directory), realpath(3) of that when it is one, the error otherwise.
 */
static ssize_t realpaths_resolve(struct realpaths *c, const char *path)
{
	ssize_t i = realpaths_find(c, path), parent;
	cleanup_free char *dir = NULL, *cand = NULL;
	const char *name;
	char *real;
	char one;

	if (i >= 0)
		return i;
	name = strrchr(path, '/') + 1;
	if (!*name)
		return realpaths_remember(c, path, xstrdup("/"), 0);
	dir = name - 1 == path ? xstrdup("/") : xstrndup(path, (size_t)(name - 1 - path));
	parent = realpaths_resolve(c, dir);
	if (!c->v[parent].real)
		return realpaths_remember(c, path, NULL, c->v[parent].err);
	cand = path_join(c->v[parent].real, name);
	if (readlink(cand, &one, 1) >= 0) {
		real = realpath(cand, NULL);
		return realpaths_remember(c, path, real, real ? 0 : errno);
	}
	if (errno != EINVAL)
		return realpaths_remember(c, path, NULL, errno);
	return realpaths_remember(c, path, steal_pointer(&cand), 0);
}

char *realpaths_get(struct realpaths *c, const char *path)
{
	cleanup_free char *norm = path_normalize(path);
	ssize_t i;

	/* Anything else ("..", a relative path) as realpath(3) takes it. */
	if (path[0] != '/' || strlen(path) >= PATH_MAX || strcmp(norm, path) != 0)
		return realpath(path, NULL);
	i = realpaths_resolve(c, path);
	if (!c->v[i].real) {
		errno = c->v[i].err;
		return NULL;
	}
	return xstrdup(c->v[i].real);
}

void realpaths_free(struct realpaths *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].path);
		free(c->v[i].real);
	}
	free(c->v);
	*c = (struct realpaths){0};
}

/*
 * Add path to the hidden list, and the path it resolves to when a component is a symlink
 * (~/.config -> dotfiles/config): hiding only the name would leave the content reachable
 * by its real path. An absent path is resolved through its parent.
 */
void add_hidden(struct strvec *out, char *path, struct realpaths *c)
{
	cleanup_free char *real = realpaths_get(c, path);

	if (!real) {
		cleanup_free char *dir = xstrdup(path);
		char *slash = strrchr(dir, '/');

		if (slash && slash != dir) {
			cleanup_free char *rdir = NULL;

			*slash = '\0';
			rdir = realpaths_get(c, dir);
			if (rdir)
				real = path_join(rdir, slash + 1);
		}
	}
	strvec_push(out, path);
	if (real && strcmp(real, path) != 0)
		strvec_push(out, steal_pointer(&real));
}

/*
 * The command line's --hide, --readonly and --scratch as rules text: they join the rules'
 * path directives, where the last directive naming a path wins, and are kept with them in
 * the session. NULL after printing why.
 */
char *flag_directives(const struct run_opts *o, const char *cwd)
{
	const struct {
		const char *word;
		const struct strvec *l;
	} kinds[] = {{"hide", &o->hide}, {"readonly", &o->readonly}, {"scratch", &o->scratch}};
	struct buf b = BUF_INIT;
	size_t i, k;

	buf_init(&b);
	for (k = 0; k < ARRAY_SIZE(kinds); k++)
		for (i = 0; i < kinds[k].l->n; i++) {
			cleanup_free char *abs = expand_path(kinds[k].l->v[i], cwd);
			cleanup_free char *q = rules_quote(abs);

			if (!q || strpbrk(abs, "*\\")) {
				error("--%s %s: a path with a control character, '*' or '\\' "
				      "cannot be used",
				      kinds[k].word, kinds[k].l->v[i]);
				buf_release(&b);
				return NULL;
			}
			buf_addf(&b, "%s %s\n", kinds[k].word, q);
		}
	return buf_detach(&b);
}

/*
 * The paths the rules say to hide, make read-only or throw away (kind), into out; c holds the
 * batch's resolved paths for the hidden ones (add_hidden()).
 */
void rule_paths(const struct ruleset *rs, enum rule_action kind, struct strvec *out,
		struct realpaths *c)
{
	const struct rule **v = NULL;
	size_t n = rules_paths(rs, kind, &v), i;

	for (i = 0; i < n; i++) {
		if (kind == RULE_HIDE)
			add_hidden(out, xstrdup(v[i]->path), c);
		else
			strvec_add(out, v[i]->path);
	}
	free(v);
}

/*
 * --replay ID: the decisions a person or an approver gave in session ID answer the same
 * questions in this run (filed under the key each ask recorded, "ask_key"); anything new is
 * asked as usual. Rules and defaults are not replayed: this run's rules decide those. Returns
 * the number of answers loaded, or -1 after printing why.
 */
int load_replay(struct asker *a, const char *id, cJSON **out)
{
	struct session old = {0};
	cleanup_free char *path = NULL;
	cleanup_file FILE *f = NULL;
	cleanup_free char *line = NULL;
	size_t cap = 0;
	int count = 0;
	cJSON *r;

	if (store_find(id, &old) < 0)
		return -1;
	path = session_path(&old, "events.jsonl");
	f = fopen(path, "re");
	if (!f) {
		error_errno("--replay %s: cannot read %s", id, path);
		store_close(&old);
		return -1;
	}
	while (getline(&line, &cap, f) > 0) {
		cJSON *ev = cJSON_Parse(line);
		const char *key = ev ? meta_str(ev, "ask_key") : NULL;
		const char *dec = ev ? meta_str(ev, "decision") : NULL;
		const char *by = ev ? meta_str(ev, "by") : NULL;

		/* Only what someone decided: not a timeout, not an ask nobody could answer. */
		if (key && dec && by &&
		    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ev, "asked")) &&
		    (!strcmp(dec, "allow") || !strcmp(dec, "deny")) &&
		    (!strcmp(by, "person") || !strcmp(by, "approver") || !strcmp(by, "replay"))) {
			asker_preload(a, key, strcmp(dec, "allow") == 0, "replay");
			count++;
		}
		cJSON_Delete(ev);
	}
	r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "session", old.id);
	cJSON_AddNumberToObject(r, "answers", count);
	*out = r;
	store_close(&old);
	return count;
}

/*
 * Who answers asks: --ask, else the person on the terminal when airlock runs on one (and
 * prints no JSON result for a program to read), else nobody (deny).
 */
struct asker *make_asker(const struct run_opts *o, const char *home, enum ask_mode *used)
{
	enum ask_mode mode = o->ask;
	cleanup_free char *user_rules = NULL;
	struct asker *a;

	if (!o->ask_given && o->live)
		mode = ASK_MODE_DENY; /* nobody at a terminal: a live session runs in the background
				       */
	else if (!o->ask_given)
		mode = !o->json && isatty(STDIN_FILENO) && isatty(STDERR_FILENO) ? ASK_MODE_TTY
										 : ASK_MODE_DENY;
	*used = mode;
	a = asker_new(mode, o->ask_fd, o->ask_timeout_ms);
	if (a && mode == ASK_MODE_TTY) {
		user_rules = policy_user_file(home);
		asker_set_rules_file(a, user_rules);
	}
	return a;
}

void run_opts_free(struct run_opts *o)
{
	strvec_clear(&o->env);
	strvec_clear(&o->hide);
	strvec_clear(&o->readonly);
	strvec_clear(&o->scratch);
	strvec_clear(&o->rules);
}
