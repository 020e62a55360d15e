/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the gate (supervisor/changeset/gate.h): the sensitive class of the rules, the
 * state of a change from the rules and the person's decisions, what each form of `commit` takes,
 * the commit's re-check of deny rules; and the "save as a rule" suggestions, parsed back.
 */
#include "supervisor/changeset/gate.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "tests/unit/tap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct rules_env env = {"/home/u", "/work/p"};

/* A gate over the defaults and then text (a file named "u"), with ~/.ssh hidden. */
static void gate_with(struct gate *g, const char *text)
{
	static const char *const hidden[] = {"/home/u/.ssh"};
	struct ruleset rs = RULESET_INIT;
	struct rules_error err;

	if (rules_load_defaults(&rs, &env, &err) < 0)
		printf("# defaults: %s\n", err.msg);
	if (text && rules_parse_buffer(&rs, "u", text, strlen(text), &env, &err) < 0)
		printf("# u: %s\n", err.msg);
	gate_init(g, &rs, hidden, 1);
}

/* gate_select() on a change at path, written by the program (no decision is pinned here). */
static const char *select_path(struct gate *g, const char *path, enum gate_mode mode, bool named,
			       bool exact, struct gate_verdict *v)
{
	struct change c = {.path = (char *)path, .kind = CHANGE_ADDED, .mode = S_IFREG | 0644};

	return gate_select(g, &c, mode, named, exact, v);
}

struct state_case {
	const char *path;
	enum gate_state state;
	bool risky;
};

static const struct state_case default_cases[] = {
	/* git: hooks, config, info, attributes, nested repositories, submodules */
	{"/work/p/.git/hooks/pre-commit", GATE_UNDECIDED, true},
	{"/work/p/.git/hooks", GATE_UNDECIDED, true},
	{"/work/p/.git/config", GATE_UNDECIDED, true},
	{"/work/p/.git/info/attributes", GATE_UNDECIDED, true},
	{"/work/p/.git", GATE_UNDECIDED, true},
	{"/work/p/.gitattributes", GATE_UNDECIDED, true},
	{"/work/p/.gitmodules", GATE_UNDECIDED, true},
	{"/work/p/vendor/lib/.git", GATE_UNDECIDED, true},
	{"/work/p/vendor/lib/.git/hooks/post-checkout", GATE_UNDECIDED, true},
	{"/work/p/vendor/lib/.git/config", GATE_UNDECIDED, true},
	{"/work/p/.git/modules/lib/hooks/post-merge", GATE_UNDECIDED, true},
	{"/work/p/.git/modules/lib/config", GATE_UNDECIDED, true},
	{"/work/p/.git/worktrees/w/config.worktree", GATE_UNDECIDED, true},
	{"/work/p/.git/objects/ab/cdef", GATE_APPROVED, false},
	{"/work/p/.git/refs/heads/main", GATE_APPROVED, false},
	{"/work/p/.git/index", GATE_APPROVED, false},
	{"/work/p/.github/workflows/ci.yml", GATE_UNDECIDED, true},
	{"/work/p/.github/CODEOWNERS", GATE_APPROVED, false},
	{"/work/p/.gitlab-ci.yml", GATE_UNDECIDED, true},
	/* project-local auto-run */
	{"/work/p/.envrc", GATE_UNDECIDED, true},
	{"/work/p/sub/.envrc", GATE_UNDECIDED, true},
	{"/work/p/.vscode", GATE_UNDECIDED, true},
	{"/work/p/.vscode/tasks.json", GATE_UNDECIDED, true},
	{"/work/p/.idea/workspace.xml", GATE_UNDECIDED, true},
	{"/work/p/.devcontainer/devcontainer.json", GATE_UNDECIDED, true},
	{"/work/p/.claude/settings.json", GATE_UNDECIDED, true},
	{"/work/p/.codex/config.toml", GATE_UNDECIDED, true},
	{"/work/p/.cursor/mcp.json", GATE_UNDECIDED, true},
	{"/work/p/.gemini/settings.json", GATE_UNDECIDED, true},
	{"/work/p/.aider.conf.yml", GATE_UNDECIDED, true},
	{"/work/p/.mcp.json", GATE_UNDECIDED, true},
	/* what the person runs knowingly stays as the write rules say */
	{"/work/p/Makefile", GATE_APPROVED, false},
	{"/work/p/bin/tool", GATE_APPROVED, false},
	{"/work/p/src/main.c", GATE_APPROVED, false},
	{"/work/p/.vscodex", GATE_APPROVED, false},
	/* the home directory: start-up files, autostart, the PATH */
	{"/home/u/.bashrc", GATE_UNDECIDED, true},
	{"/home/u/.profile", GATE_UNDECIDED, true},
	{"/home/u/.zshenv", GATE_UNDECIDED, true},
	{"/home/u/.config/fish/config.fish", GATE_UNDECIDED, true},
	{"/home/u/.config/systemd/user/evil.service", GATE_UNDECIDED, true},
	{"/home/u/.config/autostart/evil.desktop", GATE_UNDECIDED, true},
	{"/home/u/.local/bin/git", GATE_UNDECIDED, true},
	{"/home/u/bin/ls", GATE_UNDECIDED, true},
	{"/home/u/.pam_environment", GATE_UNDECIDED, true},
	{"/home/u/.gitconfig", GATE_UNDECIDED, true},
	{"/home/u/.local/lib/python3.11/site-packages/evil.pth", GATE_UNDECIDED, true},
	{"/home/u/notes.txt", GATE_UNDECIDED, false},
	{"/home/u/.ssh/authorized_keys", GATE_DENIED, false},
	{"/etc/passwd", GATE_UNDECIDED, false},
};

static void test_defaults(void)
{
	struct gate g;

	gate_with(&g, NULL);
	for (size_t i = 0; i < ARRAY_SIZE(default_cases); i++) {
		const struct state_case *c = &default_cases[i];
		struct gate_verdict v;

		gate_classify(&g, c->path, &v);
		ok(v.state == c->state && (v.risk != NULL) == c->risky, "%s: %s%s", c->path,
		   gate_state_name(c->state), c->risky ? ", flagged" : "");
		if (v.state != c->state || (v.risk != NULL) != c->risky)
			printf("#   got %s, risk %s\n", gate_state_name(v.state),
			       v.risk ? v.risk : "(null)");
	}
	{
		struct gate_verdict v;

		gate_classify(&g, "/work/p/.git/hooks/pre-commit", &v);
		is_str(v.risk, "git runs hooks, filters and fsmonitor from it",
		       "the reason is the rule's comment");
		ok(v.by == GATE_BY_RISK && v.rule && v.rule->action == RULE_ALLOW,
		   "  held although allow write ./** covers it");
		gate_classify(&g, "/home/u/.ssh/id_rsa", &v);
		ok(v.by == GATE_BY_HIDDEN && strcmp(v.hidden, "/home/u/.ssh") == 0,
		   "a hidden path is denied, and says which");
	}
	gate_close(&g);
}

static void test_rules_files(void)
{
	struct gate g;
	struct gate_verdict v;

	/* A broad allow does not approve a sensitive path; one naming the exact path does. */
	gate_with(&g, "allow write ~/**\n"
		      "allow write ./.envrc\n"
		      "allow write ./.vscode/*\n"
		      "sensitive ./scripts/**\n"
		      "sensitive ./deploy.sh # the deploy job runs it\n"
		      "allow write ./.git/config\n"
		      "deny write ./.git/config\n");
	gate_classify(&g, "/home/u/.bashrc", &v);
	ok(v.state == GATE_UNDECIDED && v.risk, "allow write ~/** does not approve ~/.bashrc");
	gate_classify(&g, "/work/p/.envrc", &v);
	ok(v.state == GATE_APPROVED && v.risk, "allow write ./.envrc (exact) approves it, flagged");
	gate_classify(&g, "/work/p/sub/.envrc", &v);
	ok(v.state == GATE_UNDECIDED, "  not another .envrc");
	gate_classify(&g, "/work/p/.vscode/tasks.json", &v);
	ok(v.state == GATE_UNDECIDED && v.risk, "a glob naming the directory does not approve it");
	gate_classify(&g, "/work/p/scripts/build.sh", &v);
	ok(v.state == GATE_UNDECIDED && v.risk, "a rules file adds to the class");
	is_str(v.risk, "sensitive ./scripts/** (u:4)",
	       "  without a comment the rule is the reason");
	gate_classify(&g, "/work/p/deploy.sh", &v);
	is_str(v.risk, "the deploy job runs it", "  with one, the comment");
	gate_classify(&g, "/work/p/.git/config", &v);
	ok(v.state == GATE_DENIED && v.by == GATE_BY_DENY, "a later deny write wins");
	gate_close(&g);

	gate_with(&g, "allow write \"/work/p/*\"\n");
	gate_classify(&g, "/work/p/.envrc", &v);
	ok(v.state == GATE_UNDECIDED, "a quoted glob is a glob: not an exact path");
	gate_close(&g);
	gate_with(&g, "allow write \"/work/p/\\\\*\"\nsensitive \"/work/p/\\\\*\"\n");
	gate_classify(&g, "/work/p/*", &v);
	ok(v.state == GATE_APPROVED && v.risk, "an escaped '*' is an exact path");
	gate_close(&g);
}

static void test_decisions_and_commit(void)
{
	static char dir[] = "/work/p", vscode[] = "/work/p/.vscode";
	static char hook_path[] = "/work/p/.git/hooks/pre-commit";
	char *named_dir[] = {dir}, *named_vscode[] = {vscode}, *named_hook[] = {hook_path};
	struct gate g;
	struct gate_verdict v;
	const char *hook = "/work/p/.git/hooks/pre-commit", *plain = "/work/p/a.txt";
	const char *asked = "/tmp/x", *secret = "/work/p/secret/key";

	gate_with(&g, "deny write ./secret/**\n");
	/* commit ID: the approved ones only */
	ok(select_path(&g, plain, GATE_TAKE_APPROVED, false, false, &v) == NULL,
	   "commit: an approved change goes in");
	is_str(select_path(&g, hook, GATE_TAKE_APPROVED, false, false, &v), "flagged",
	       "commit: a flagged one is left");
	is_str(select_path(&g, asked, GATE_TAKE_APPROVED, false, false, &v), "undecided",
	       "commit: an undecided one is left");
	is_str(select_path(&g, secret, GATE_TAKE_APPROVED, false, false, &v), "denied",
	       "commit: a denied one is left");
	/* --all: approved and undecided, never denied or flagged */
	ok(select_path(&g, asked, GATE_TAKE_ALL, true, false, &v) == NULL,
	   "--all: an undecided one goes in");
	is_str(select_path(&g, hook, GATE_TAKE_ALL, true, false, &v), "flagged",
	       "--all: a flagged one is left");
	is_str(select_path(&g, secret, GATE_TAKE_ALL, true, false, &v), "denied",
	       "--all: a denied one is left");
	/* PATH...: a flagged change only when named explicitly */
	ok(!gate_named_exactly(&g, hook, named_dir, 1),
	   "the project directory does not name a hook");
	is_str(select_path(&g, hook, GATE_TAKE_NAMED, true,
			   gate_named_exactly(&g, hook, named_dir, 1), &v),
	       "flagged", "PATH above a hook: left");
	ok(gate_named_exactly(&g, hook, named_hook, 1), "the hook's own path names it");
	ok(select_path(&g, hook, GATE_TAKE_NAMED, true, true, &v) == NULL,
	   "PATH naming the hook: it goes in");
	ok(gate_named_exactly(&g, "/work/p/.vscode/tasks.json", named_vscode, 1),
	   "a flagged directory names what is below it");
	is_str(select_path(&g, plain, GATE_TAKE_NAMED, false, false, &v), "skip",
	       "PATH: what is not named is skipped");
	/* The re-check: a deny write rule holds whatever the person says or names. */
	is_int(gate_decide(&g, secret, GATE_APPROVED), 0, "a person approves a denied path");
	gate_classify(&g, secret, &v);
	ok(v.state == GATE_DENIED && v.by == GATE_BY_DENY, "  it stays denied");
	is_str(select_path(&g, secret, GATE_TAKE_NAMED, true, true, &v), "denied",
	       "  and naming it exactly does not apply it");
	/* Decisions: approving the hook makes commit ID take it. */
	is_int(gate_decide(&g, hook, GATE_APPROVED), 0, "the person approves the hook");
	gate_classify(&g, hook, &v);
	ok(v.state == GATE_APPROVED && v.person && v.risk,
	   "  approved, by the person, still flagged");
	ok(select_path(&g, hook, GATE_TAKE_APPROVED, false, false, &v) == NULL,
	   "  commit ID takes it now");
	gate_decide(&g, plain, GATE_DENIED);
	is_str(select_path(&g, plain, GATE_TAKE_APPROVED, false, false, &v), "denied",
	       "a change the person denied is left by commit ID");
	is_str(select_path(&g, plain, GATE_TAKE_ALL, true, false, &v), "denied", "  and by --all");
	ok(select_path(&g, plain, GATE_TAKE_NAMED, true, false, &v) == NULL,
	   "  naming it applies it (the person's explicit choice)");
	gate_decide(&g, plain, GATE_UNDECIDED);
	gate_classify(&g, plain, &v);
	ok(v.state == GATE_UNDECIDED && v.person, "the last decision wins");
	gate_close(&g);

	/* No rules: nothing approved, nothing flagged can be told apart: nothing starts approved.
	 */
	memset(&g, 0, sizeof(g));
	gate_classify(&g, plain, &v);
	ok(v.state == GATE_UNDECIDED && v.by == GATE_BY_NO_RULES, "without rules: undecided");
	gate_close(&g);
}

static bool same_verdict(const struct gate_verdict *a, const struct gate_verdict *b)
{
	return a->state == b->state && a->by == b->by && a->person == b->person &&
	       a->rule == b->rule && a->sensitive == b->sensitive && a->risk == b->risk &&
	       a->hidden == b->hidden && a->hunks == b->hunks && a->pin == b->pin &&
	       a->changed == b->changed;
}

/*
 * The verdicts worked out once per directory (gate_classify_cached()) are gate_classify()'s,
 * for paths in and around hidden paths (one with a trailing slash, "/" itself last in one
 * gate), deny and sensitive rules and decisions, in an order that leaves and comes back to
 * directories.
 */
static void test_cached_verdicts(void)
{
	static const char *const hidden[] = {"/work/p/hid/", "/work/p/a/b", "/home/u/.ssh", "/"};
	static const char *const paths[] = {"/work/p/a/b",
					    "/work/p/a/bc",
					    "/work/p/a/b/c",
					    "/work/p/a/x",
					    "/work/p/hid",
					    "/work/p/hid/x",
					    "/work/p/hidden",
					    "/home/u/.ssh/id",
					    "/home/u/.sshx",
					    "/home/u/.ssh",
					    "/work/p/.git/hooks/x",
					    "/work/p/.git",
					    "/work/p/secret/k",
					    "/work/p/secret",
					    "/x",
					    "/",
					    "/work//p/a/x",
					    "/work/p/./a/b",
					    "rel/x",
					    "/work/p/a/./b/c",
					    "/work/p/.vscode/t.json",
					    "/tmp/y/z",
					    "/work/p/d.txt"};
	size_t bad = 0, n = 0;

	for (size_t nh = 3; nh <= 4; nh++) {
		struct ruleset rs = RULESET_INIT;
		struct rules_error err;
		const char *text =
			"deny write ./secret/**\nsensitive ./d.txt\nallow write /tmp/**\n";
		struct gate g;
		struct gate_cache c = {0};
		uint32_t x = 7;

		if (rules_load_defaults(&rs, &env, &err) < 0 ||
		    rules_parse_buffer(&rs, "u", text, strlen(text), &env, &err) < 0)
			printf("# rules: %s\n", err.msg);
		gate_init(&g, &rs, hidden, nh);
		gate_decide(&g, "/work/p/a/x", GATE_DENIED);
		gate_decide(&g, "/work/p/.git", GATE_APPROVED);
		for (int i = 0; i < 2000; i++, n++) {
			struct gate_verdict a, b;
			const char *path;

			x = x * 1103515245u + 12345u;
			path = paths[(x >> 8) % ARRAY_SIZE(paths)];
			gate_classify(&g, path, &a);
			gate_classify_cached(&g, &c, path, &b);
			if (!same_verdict(&a, &b) && bad++ < 3)
				printf("# differs: %s\n", path);
		}
		gate_cache_free(&c);
		gate_close(&g);
	}
	is_int((int)bad, 0, "verdicts per directory: the same as one by one (%zu paths)", n);
}

/* The suggestion parsed back as "allow BODY": whether it matches the exec (path, argv). */
static int suggestion_matches(const char *body, const char *path, char *const *argv)
{
	struct ruleset rs = RULESET_INIT;
	cleanup_free char *line = xasprintf("allow %s", body);
	const struct rule *r;
	int rc = rules_parse_buffer(&rs, "s", line, strlen(line), &env, NULL);

	if (rc < 0) {
		printf("# does not parse: %s\n", line);
		return -1;
	}
	r = rules_match_exec(&rs, path, argv);
	rules_release(&rs);
	return r != NULL;
}

static void test_suggest_exec(void)
{
	static const struct {
		const char *path;
		const char *argv[5];
		const char *other_path;
		const char *other[5];
	} cases[] = {
		{"/tmp/d/a*", {"a", "x", NULL}, "/tmp/d/anything", {"a", "x", NULL}},
		{"/tmp/d/a*", {"a", "x", NULL}, "/tmp/d/a*", {"a", "x", "y", NULL}},
		{"/usr/bin/git",
		 {"git", "push", "*", NULL},
		 "/usr/bin/git",
		 {"git", "push", "origin", NULL}},
		{"/usr/bin/git", {"git", "a\\*", NULL}, "/usr/bin/git", {"git", "a\\b", NULL}},
		{"/tmp/d/back\\slash",
		 {"b", "\\", NULL},
		 "/tmp/d/back\\\\slash",
		 {"b", "\\", NULL}},
		{"/tmp/My Dir/p",
		 {"p", "a b", "\"q\"", NULL},
		 "/tmp/My Dir/p",
		 {"p", "a", "b", NULL}},
		{"/bin/echo", {"echo", "$", "#x", NULL}, "/bin/echo", {"echo", "$", NULL}},
		{"/bin/echo", {"echo", "", NULL}, "/bin/echo", {"echo", "x", NULL}},
		{"/tmp/**", {"x", "**", NULL}, "/tmp/a/b", {"x", "**", NULL}},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		cleanup_free char *s =
			rules_suggest_exec(cases[i].path, (char *const *)cases[i].argv);

		ok(s != NULL, "suggestion for %s: %s", cases[i].path, s ? s : "(none)");
		if (!s)
			continue;
		is_int(suggestion_matches(s, cases[i].path, (char *const *)cases[i].argv), 1,
		       "  it matches the call it came from");
		is_int(suggestion_matches(s, cases[i].other_path, (char *const *)cases[i].other), 0,
		       "  and not %s with other arguments", cases[i].other_path);
	}
	ok(rules_suggest_exec("/bin/x", (char *const *)(const char *const[]){"x", "a\nb", NULL}) ==
		   NULL,
	   "a control character: no suggestion");
	ok(rules_suggest_exec("/bin/../x", (char *const *)(const char *const[]){"x", NULL}) == NULL,
	   "a path the grammar refuses ('..'): no suggestion");
}

static void test_suggest_connect(void)
{
	static const struct {
		const char *target, *other;
	} cases[] = {
		{"unix:/tmp/s*ock", "unix:/tmp/sXock"}, {"unix:/tmp/a\\b", "unix:/tmp/a\\\\b"},
		{"unix:/tmp/**", "unix:/tmp/x/y"},	{"unix:@ab*", "unix:@abc"},
		{"example.com:443", "example.com:80"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		cleanup_free char *s = rules_suggest_connect(cases[i].target);
		struct ruleset rs = RULESET_INIT;
		cleanup_free char *line = s ? xasprintf("allow %s", s) : NULL;
		struct rules_target t = {.port = -1}, o = {.port = -1};
		const char *names[2] = {cases[i].target, cases[i].other};
		struct rules_target *ts[2] = {&t, &o};

		ok(s != NULL, "suggestion for %s: %s", cases[i].target, s ? s : "(none)");
		if (!s)
			continue;
		is_int(rules_parse_buffer(&rs, "s", line, strlen(line), &env, NULL), 0,
		       "  it parses");
		for (int k = 0; k < 2; k++) {
			const char *n = names[k];

			if (strncmp(n, "unix:@", 6) == 0) {
				ts[k]->family = AF_UNIX;
				ts[k]->abstract = true;
				ts[k]->unix_name = n + 6;
				ts[k]->unix_len = strlen(n + 6);
			} else if (strncmp(n, "unix:", 5) == 0) {
				ts[k]->family = AF_UNIX;
				ts[k]->unix_name = n + 5;
				ts[k]->unix_len = strlen(n + 5);
			} else {
				ts[k]->family = AF_UNSPEC;
				ts[k]->name = "example.com";
				ts[k]->port = atoi(strchr(n, ':') + 1);
			}
		}
		ok(rules_match_connect(&rs, &t) != NULL, "  it matches %s", cases[i].target);
		ok(rules_match_connect(&rs, &o) == NULL, "  and not %s", cases[i].other);
		rules_release(&rs);
	}
	ok(rules_suggest_connect("*.evil.com:443") == NULL, "a host name with '*': no suggestion");
}

/* Decisions hunk by hunk: saved with the hashes, read back, and a bad line approves no hunk. */
static void test_hunk_decisions(void)
{
	char file[] = "/tmp/airlock-test-gate-XXXXXX";
	const char *sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	struct gate g;
	struct gate_verdict v;
	int fd = mkstemp(file);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	ok(f != NULL, "a decisions file");
	if (!f)
		return;
	fprintf(f,
		"{\"path\":\"/work/p/bad\",\"state\":\"approved\",\"hunks\":\"ax\","
		"\"old_sha256\":\"%s\",\"new_sha256\":\"%s\"}\n",
		sha, sha);
	fprintf(f, "{\"path\":\"/work/p/nohash\",\"state\":\"approved\",\"hunks\":\"ad\"}\n");
	fclose(f);
	gate_with(&g, NULL);
	gate_load_decisions(&g, file);
	gate_classify(&g, "/work/p/bad", &v);
	is_str(v.hunks, "u", "a bad letter: no hunk approved");
	gate_classify(&g, "/work/p/nohash", &v);
	is_str(v.hunks, "u", "hunks without hashes: no hunk approved");
	ok(gate_decide_hunks(&g, "/work/p/f", GATE_APPROVED, "ada", sha, sha) == 0,
	   "a decision hunk by hunk is saved");
	gate_classify(&g, "/work/p/f", &v);
	is_str(v.hunks, "ada", "  and classified with its hunks");
	gate_close(&g);
	gate_with(&g, NULL);
	gate_load_decisions(&g, file);
	gate_classify(&g, "/work/p/f", &v);
	is_str(v.hunks, "ada", "read back from the file");
	is_str(v.old_sha, sha, "  with the hashes");
	ok(v.person && v.state == GATE_APPROVED, "  approved by the person");
	gate_decide(&g, "/work/p/f", GATE_DENIED);
	gate_close(&g);
	gate_with(&g, NULL);
	gate_load_decisions(&g, file);
	gate_classify(&g, "/work/p/f", &v);
	ok(v.hunks == NULL && v.state == GATE_DENIED, "a whole decision later replaces the hunks");
	gate_close(&g);
	unlink(file);
}

/* A change at path with the upper entry's identity (ino, ctime in seconds). */
static struct change pinned_change(const char *path, ino_t ino, time_t ctime)
{
	return (struct change){.path = (char *)path,
			       .kind = CHANGE_ADDED,
			       .mode = S_IFREG | 0644,
			       .size = 5,
			       .dev = 7,
			       .ino = ino,
			       .ctim = {ctime, 0}};
}

/*
 * A whole-file approval is pinned to the sandbox's side it was made on: another version makes
 * it undecided (changed), saved and read back; an old line without a pin holds as before, a
 * malformed pin holds for nothing, and a denial or a deletion is not pinned.
 */
static void test_pinned_decisions(void)
{
	char file[] = "/tmp/airlock-test-gate-XXXXXX";
	struct change c = pinned_change("/tmp/f", 1, 100), c2 = pinned_change("/tmp/f", 1, 101);
	struct change old = pinned_change("/tmp/old", 2, 100),
		      bad = pinned_change("/tmp/bad", 3, 1);
	struct change del = {.path = (char *)"/tmp/del", .kind = CHANGE_DELETED};
	cleanup_free char *pin = gate_pin(&c), *dpin = gate_pin(&del);
	struct gate g;
	struct gate_verdict v;
	int fd = mkstemp(file);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	ok(f != NULL, "a decisions file");
	if (!f)
		return;
	fputs("{\"path\":\"/tmp/old\",\"state\":\"approved\"}\n", f);
	fputs("{\"path\":\"/tmp/bad\",\"state\":\"approved\",\"pin\":7}\n", f);
	fclose(f);
	ok(dpin == NULL, "a deletion has no pin");
	gate_with(&g, NULL);
	gate_load_decisions(&g, file);
	gate_classify_change(&g, &old, &v);
	ok(v.state == GATE_APPROVED && v.person && !v.changed, "a line without a pin holds");
	gate_classify_change(&g, &bad, &v);
	ok(v.state == GATE_UNDECIDED && v.changed, "a malformed pin holds for nothing");
	ok(gate_decide_pinned(&g, "/tmp/f", GATE_APPROVED, pin) == 0, "a pinned approval is saved");
	gate_classify_change(&g, &c, &v);
	ok(v.state == GATE_APPROVED && v.person && !v.changed, "  it holds for the version seen");
	gate_close(&g);
	gate_with(&g, NULL);
	gate_load_decisions(&g, file);
	gate_classify_change(&g, &c, &v);
	ok(v.state == GATE_APPROVED && !v.changed, "  read back, it still holds for it");
	gate_classify_change(&g, &c2, &v);
	ok(v.state == GATE_UNDECIDED && !v.person && v.changed,
	   "  and not for another ctime: undecided, changed");
	c2 = pinned_change("/tmp/f", 9, 100);
	gate_classify_change(&g, &c2, &v);
	ok(v.state == GATE_UNDECIDED && v.changed, "  nor for another inode");
	ok(gate_decide_pinned(&g, "/tmp/f", GATE_DENIED, pin) == 0, "a denial is saved");
	gate_classify_change(&g, &c2, &v);
	ok(v.state == GATE_DENIED && !v.changed, "  unpinned: it holds for any version");
	gate_close(&g);
	unlink(file);
}

/* Decisions on deferred commands: by number, the last line wins, malformed lines are skipped,
   and they never read as a path's decision. */
static void test_deferred_decisions(void)
{
	char file[] = "/tmp/airlock-test-gate-XXXXXX";
	struct gate g;
	struct gate_verdict v;
	enum gate_state st = GATE_UNDECIDED;
	int fd = mkstemp(file);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	ok(f != NULL, "a decisions file");
	if (!f)
		return;
	fputs("{\"deferred\":1,\"state\":\"approved\"}\n"
	      "{\"deferred\":2,\"state\":\"approved\"}\n"
	      "{\"deferred\":2,\"state\":\"denied\"}\n"
	      "{\"deferred\":\"3\",\"state\":\"approved\"}\n"
	      "{\"deferred\":3.5,\"state\":\"approved\"}\n"
	      "{\"deferred\":0,\"state\":\"approved\"}\n"
	      "{\"deferred\":-4,\"state\":\"approved\"}\n"
	      "{\"deferred\":1e300,\"state\":\"approved\"}\n"
	      "{\"deferred\":5,\"state\":\"allow\"}\n"
	      "{\"deferred\":6,\"state\":\"approved\",\"path\":\"/work/p/x\"}\n"
	      "{\"deferred\":7,\"state\":\"approved\"\n",
	      f);
	fclose(f);
	gate_with(&g, NULL);
	gate_load_decisions(&g, file);
	ok(gate_deferred_state(&g, 1, &st) && st == GATE_APPROVED, "deferred #1 approved");
	ok(gate_deferred_state(&g, 2, &st) && st == GATE_DENIED, "the last line for #2 wins");
	ok(!gate_deferred_state(&g, 3, &st), "a number as a string, or a fraction, is skipped");
	ok(!gate_deferred_state(&g, 0, &st) && !gate_deferred_state(&g, 4, &st) &&
		   !gate_deferred_state(&g, 5, &st),
	   "so are 0, a negative number, a huge one and an unknown state");
	ok(!gate_deferred_state(&g, 6, &st), "a line with a path is a path's decision");
	ok(!gate_deferred_state(&g, 7, &st), "a cut line is skipped");
	gate_classify(&g, "/work/p/x", &v);
	ok(v.person && v.state == GATE_APPROVED, "  (the path's, as ever)");
	ok(gate_decide_deferred(&g, 3, GATE_APPROVED) == 0, "a decision on #3 is saved");
	gate_close(&g);
	gate_with(&g, NULL);
	gate_load_decisions(&g, file);
	ok(gate_deferred_state(&g, 3, &st) && st == GATE_APPROVED, "  and read back");
	gate_close(&g);
	unlink(file);
}

int main(void)
{
	test_defaults();
	test_rules_files();
	test_decisions_and_commit();
	test_cached_verdicts();
	test_hunk_decisions();
	test_pinned_decisions();
	test_deferred_decisions();
	test_suggest_exec();
	test_suggest_connect();
	return tap_done();
}
