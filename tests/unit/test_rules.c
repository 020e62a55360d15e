/* SPDX-License-Identifier: MIT */
/* Unit tests for rules/rules.h: parsing, messages, expansion, matching, defaults, file trust. */
#include "rules/rules.h"

#include "rules/glob.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/path.h"
#include "tests/unit/tap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static const struct rules_env env = {"/home/u", "/work/p"};

/* Parse text named "t" into a fresh ruleset; the return code of rules_parse_buffer(). */
static int parse(struct ruleset *rs, const char *text, struct rules_error *err)
{
	return rules_parse_buffer(rs, "t", text, strlen(text), &env, err);
}

static unsigned int line_of(const struct rule *r)
{
	return r ? r->line : 0;
}

/* ---- parsing ---- */

struct good_case {
	const char *text;
	size_t nrules;
	enum rule_action action; /* of the first rule */
	enum rule_class cls;
	const char *first_text; /* rule.text of the first rule */
};

static const struct good_case good_cases[] = {
	{"allow exec *", 1, RULE_ALLOW, RULE_EXEC, "*"},
	{"deny exec /usr/bin/curl", 1, RULE_DENY, RULE_EXEC, "/usr/bin/curl"},
	{"ask exec git push", 1, RULE_ASK, RULE_EXEC, "git push"},
	{"defer exec git push $", 1, RULE_DEFER, RULE_EXEC, "git push $"},
	{"defer exec kubectl \"$\"", 1, RULE_DEFER, RULE_EXEC, "kubectl \"$\""},
	{"allow connect * example.com:443 10.0.0.0/8 [::1]:8080 unix:/run/x.sock unix:@dbus*", 6,
	 RULE_ALLOW, RULE_CONNECT, "*"},
	{"deny connect 2001:db8::/32", 1, RULE_DENY, RULE_CONNECT, "2001:db8::/32"},
	{"ask connect *:*", 1, RULE_ASK, RULE_CONNECT, "*:*"},
	{"ask connect unix:*", 1, RULE_ASK, RULE_CONNECT, "unix:*"},
	{"deny write /etc/** ~/x $HOME/y", 3, RULE_DENY, RULE_WRITE, "/etc/**"},
	{"ask write ./**", 1, RULE_ASK, RULE_WRITE, "./**"},
	{"allow write \"/srv/my files/**\"", 1, RULE_ALLOW, RULE_WRITE, "\"/srv/my files/**\""},
	{"hide ~/.ssh ~/.gnupg", 2, RULE_HIDE, RULE_PATH, "~/.ssh"},
	{"readonly /usr", 1, RULE_READONLY, RULE_PATH, "/usr"},
	{"scratch ./build", 1, RULE_SCRATCH, RULE_PATH, "./build"},
	{"redact internal-id \"ITK-[0-9]{6}\"", 1, RULE_REDACT, RULE_OUTPUT, "ITK-[0-9]{6}"},
	{"redact k.1 \"a b+\"", 1, RULE_REDACT, RULE_OUTPUT, "\"a b+\""},
	{"\t allow\texec\t* # trailing comment", 1, RULE_ALLOW, RULE_EXEC, "*"},
	{"allow exec a#b", 1, RULE_ALLOW, RULE_EXEC, "a#b"},
	{"allow exec \"#x\"", 1, RULE_ALLOW, RULE_EXEC, "\"#x\""},
	{"allow exec *\r", 1, RULE_ALLOW, RULE_EXEC, "*"},
	{"allow exec /bin/\xc3\xa9t\xe9", 1, RULE_ALLOW, RULE_EXEC, "/bin/\xc3\xa9t\xe9"},
	{"# only a comment", 0, 0, 0, NULL},
	{"   ", 0, 0, 0, NULL},
	{"", 0, 0, 0, NULL},
};

static void test_good_lines(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(good_cases); i++) {
		const struct good_case *c = &good_cases[i];
		struct ruleset rs = RULESET_INIT;
		struct rules_error err = {0};
		int rc = parse(&rs, c->text, &err);

		is_int(rc, 0, "parses: %s", c->text);
		if (rc < 0)
			printf("#   %s\n", err.msg);
		is_int(rs.n, c->nrules, "  %zu rule(s)", c->nrules);
		if (rs.n > 0 && c->nrules > 0) {
			ok(rs.rules[0]->action == c->action && rs.rules[0]->cls == c->cls,
			   "  %s %s", rule_action_name(c->action), rule_class_name(c->cls));
			is_str(rs.rules[0]->text, c->first_text, "  text");
			is_str(rs.rules[0]->source, "t", "  source");
			is_int(rs.rules[0]->line, 1, "  line");
		}
		rules_release(&rs);
	}
}

struct bad_case {
	const char *text;
	size_t len; /* 0: strlen(text) */
	const char *msg;
};

static const struct bad_case bad_cases[] = {
	{"frob exec *", 0, "t:1: unknown action 'frob'"},
	{"Allow exec *", 0, "t:1: unknown action 'Allow'"},
	{"allow", 0, "t:1: missing class after 'allow'"},
	{"allow frob *", 0, "t:1: unknown class 'frob'"},
	{"allow path /x", 0, "t:1: unknown class 'path'"},
	{"allow risk /x", 0, "t:1: unknown class 'risk'"},
	{"sensitive", 0, "t:1: missing path after 'sensitive'"},
	{"sensitive .git/hooks/**", 0,
	 "t:1: relative path '.git/hooks/**' (start it with /, ./, ~/ or $HOME/)"},
	{"sensitive /a/**.sh", 0, "t:1: '**' must be a whole path component in '/a/**.sh'"},
	{"defer connect *", 0, "t:1: defer is only valid for exec rules"},
	{"redact Key x+", 0, "t:1: bad redaction kind 'Key' (1-32 of a-z 0-9 _ . -)"},
	{"redact k", 0,
	 "t:1: redact takes a kind and one expression (quote it when it has spaces): "
	 "redact KIND ERE"},
	{"redact k a b", 0,
	 "t:1: redact takes a kind and one expression (quote it when it has "
	 "spaces): redact KIND ERE"},
	{"redact k \"(\"", 0, "t:1: bad regular expression '(': Unmatched ( or \\("},
	{"redact k \"a*\"", 0, "t:1: the expression 'a*' matches the empty string"},
	{"defer write /x", 0, "t:1: defer is only valid for exec rules"},
	{"allow exec", 0, "t:1: missing pattern after 'allow exec'"},
	{"deny connect   # nothing", 0, "t:1: missing pattern after 'deny connect'"},
	{"ask write", 0, "t:1: missing pattern after 'ask write'"},
	{"hide", 0, "t:1: missing path after 'hide'"},
	{"scratch # later", 0, "t:1: missing path after 'scratch'"},
	{"allow connect 10.0.0.0/33", 0, "t:1: bad CIDR '10.0.0.0/33'"},
	{"allow connect 10.0.0/8", 0, "t:1: bad CIDR '10.0.0/8'"},
	{"allow connect 10.0.0.0/", 0, "t:1: bad CIDR '10.0.0.0/'"},
	{"allow connect 10.0.0.0/8x", 0, "t:1: bad CIDR '10.0.0.0/8x'"},
	{"allow connect 2001:db8::/129", 0, "t:1: bad CIDR '2001:db8::/129'"},
	{"allow connect [2001:db8::/-1]:443", 0, "t:1: bad CIDR '2001:db8::/-1'"},
	{"allow connect 1.2.3.256", 0, "t:1: bad address '1.2.3.256'"},
	{"allow connect 1.2.3", 0, "t:1: bad address '1.2.3'"},
	{"allow connect [1.2.3.4]:80", 0, "t:1: bad address '[1.2.3.4]'"},
	{"allow connect [::1", 0, "t:1: bad address '[::1'"},
	{"allow connect [::1]x", 0, "t:1: bad address '[::1]x'"},
	{"allow connect gg::1", 0, "t:1: bad address 'gg::1'"},
	{"allow connect example.com:0", 0, "t:1: bad port '0'"},
	{"allow connect example.com:65536", 0, "t:1: bad port '65536'"},
	{"allow connect example.com:http", 0, "t:1: bad port 'http'"},
	{"allow connect example.com:90-80", 0, "t:1: bad port '90-80'"},
	{"allow connect example.com:80-", 0, "t:1: bad port '80-'"},
	{"allow connect example.com:", 0, "t:1: bad port ''"},
	{"allow connect [::1]:-1", 0, "t:1: bad port '-1'"},
	{"allow connect 1.2.3.4:99999999999999999999", 0, "t:1: bad port '99999999999999999999'"},
	{"allow connect exa$mple.com", 0, "t:1: bad host name 'exa$mple.com'"},
	{"allow connect a..b", 0, "t:1: bad host name 'a..b'"},
	{"allow connect .github.com", 0, "t:1: bad host name '.github.com'"},
	{"allow connect a/b", 0, "t:1: bad host name 'a/b'"},
	{"allow connect unix:", 0, "t:1: missing socket path after 'unix:'"},
	{"allow connect unix:@", 0, "t:1: missing socket name after 'unix:@'"},
	{"allow connect unix:run/x.sock", 0,
	 "t:1: relative path 'run/x.sock' (start it with /, ./, ~/ or $HOME/)"},
	{"allow write \"/x", 0, "t:1: unterminated quote"},
	{"allow write \"/x\\\"", 0, "t:1: unterminated quote"},
	{"\"unterminated # comment", 0, "t:1: unterminated quote"},
	{"allow write foo/**", 0,
	 "t:1: relative path 'foo/**' (start it with /, ./, ~/ or $HOME/)"},
	{"allow write *", 0, "t:1: relative path '*' (start it with /, ./, ~/ or $HOME/)"},
	{"hide .ssh", 0, "t:1: relative path '.ssh' (start it with /, ./, ~/ or $HOME/)"},
	{"hide ~user/.ssh", 0,
	 "t:1: relative path '~user/.ssh' (start it with /, ./, ~/ or $HOME/)"},
	{"deny exec bin/tool", 0,
	 "t:1: relative path 'bin/tool' (start it with /, ./, ~/ or $HOME/)"},
	{"allow write /a/../b", 0, "t:1: '..' is not allowed in '/a/../b'"},
	{"readonly ./..", 0, "t:1: '..' is not allowed in './..'"},
	{"allow write /a/**.py", 0, "t:1: '**' must be a whole path component in '/a/**.py'"},
	{"deny exec /opt/x**/bin", 0, "t:1: '**' must be a whole path component in '/opt/x**/bin'"},
	{"hide ~/.config/*token*", 0, "t:1: hide takes a path, not a pattern: '~/.config/*token*'"},
	{"readonly /**", 0, "t:1: readonly takes a path, not a pattern: '/**'"},
	{"allow exec git $ push", 0, "t:1: '$' must be the last word of an exec rule"},
	{"allow write \"\"", 0, "t:1: empty pattern"},
	{"allow exec \"\" x", 0, "t:1: empty pattern"},
	{"allow connect \"\"", 0, "t:1: empty pattern"},
	{"hide \"\"", 0, "t:1: empty pattern"},
	{"allow\x01 exec *", 0, "t:1: control character 0x01 in line"},
	{"allow exec *\x1b[2K", 0, "t:1: control character 0x1b in line"},
	{"allow exec \x7f", 0, "t:1: control character 0x7f in line"},
	{"# a comment\x0b", 0, "t:1: control character 0x0b in line"},
	{"allow exec *\0x", 14, "t:1: NUL byte in line"},
	{"allow exec *\r\r", 0, "t:1: control character 0x0d in line"},
	{"allow exec *\nallow frob x\n", 0, "t:2: unknown class 'frob'"},
	{"allow exec *\n\n# c\nhide ~/.ssh\ndeny connect 1.2.3.4:0\n", 0, "t:5: bad port '0'"},
};

static void test_bad_lines(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		size_t len = c->len ? c->len : strlen(c->text);
		struct ruleset rs = RULESET_INIT;
		struct rules_error err = {0};
		int rc;

		/* A rule already there must survive a refused source untouched. */
		parse(&rs, "deny exec curl", NULL);
		rc = rules_parse_buffer(&rs, "t", c->text, len, &env, &err);
		is_int(rc, -EINVAL, "refused: %s", c->msg);
		is_str(err.msg, c->msg, "  message");
		ok(rs.n == 1 && rs.nsources == 1, "  nothing from the refused source was added");
		rules_release(&rs);
	}
}

static void test_no_env(void)
{
	struct rules_env none = {NULL, NULL}, rel = {"home", "cwd"};
	struct ruleset rs = RULESET_INIT;
	struct rules_error err;

	is_int(rules_parse_buffer(&rs, "t", "hide ~/.ssh", 11, &none, &err), -EINVAL,
	       "~ without a home");
	is_str(err.msg, "t:1: '~/.ssh' needs the home directory, which is not known", "  message");
	is_int(rules_parse_buffer(&rs, "t", "allow write ./**", 16, NULL, &err), -EINVAL,
	       ". without an env");
	is_str(err.msg, "t:1: './**' needs the starting directory, which is not known",
	       "  message");
	is_int(rules_parse_buffer(&rs, "t", "allow write $HOME", 17, &rel, &err), -EINVAL,
	       "a relative home is not used");
	is_int(rules_parse_buffer(&rs, "t", "allow write /x", 14, &none, &err), 0,
	       "absolute paths need no env");
	is_int(rules_load_defaults(&rs, &none, &err), -EINVAL, "defaults need the home directory");
	is_str(err.msg, "<defaults>:4: './**' needs the starting directory, which is not known",
	       "  message names <defaults>");
	rules_release(&rs);
}

static void test_long_lines(void)
{
	cleanup_free char *big = xmalloc(RULES_MAX_FILE + 2);
	struct ruleset rs = RULESET_INIT;
	struct rules_error err;
	struct buf b = BUF_INIT;

	/* A rule line of exactly the limit. */
	buf_init(&b);
	buf_adds(&b, "allow write /");
	while (b.len < RULES_MAX_LINE)
		buf_addc(&b, 'a');
	is_int(parse(&rs, b.data, &err), 0, "a line of %d bytes is accepted", RULES_MAX_LINE);
	is_int(rs.n, 1, "  and makes a rule");
	ok(rs.n == 1 && strlen(rs.rules[0]->text) == RULES_MAX_LINE - 12, "  with the whole path");
	buf_adds(&b, "\r\n");
	is_int(parse(&rs, b.data, &err), 0, "  also with CRLF");
	buf_reset(&b);
	buf_adds(&b, "# ");
	while (b.len < RULES_MAX_LINE + 1)
		buf_addc(&b, 'x');
	is_int(parse(&rs, b.data, &err), -EINVAL, "a line of %d bytes is refused",
	       RULES_MAX_LINE + 1);
	is_str(err.msg, "t:1: line too long (more than 4096 bytes)", "  message");
	buf_reset(&b);
	buf_adds(&b, "allow exec *\n");
	for (int i = 0; i < 100000; i++)
		buf_addc(&b, 'y');
	is_int(parse(&rs, b.data, &err), -EINVAL, "a 100000-byte line is refused");
	is_str(err.msg, "t:2: line too long (more than 4096 bytes)", "  on its own line");
	buf_release(&b);

	/* Many words, many lines. */
	buf_init(&b);
	buf_adds(&b, "deny connect");
	while (b.len + 2 <= RULES_MAX_LINE)
		buf_adds(&b, " *");
	{
		size_t before = rs.n;

		is_int(parse(&rs, b.data, &err), 0, "a line of %zu words", (b.len - 12) / 2);
		is_int(rs.n - before, (b.len - 12) / 2, "  one rule per word");
	}
	buf_release(&b);

	memset(big, '\n', RULES_MAX_FILE + 1);
	is_int(rules_parse_buffer(&rs, "t", big, RULES_MAX_FILE, &env, &err), 0,
	       "a file of %d empty lines", RULES_MAX_FILE);
	is_int(rules_parse_buffer(&rs, "t", big, RULES_MAX_FILE + 1, &env, &err), -EINVAL,
	       "one byte more is refused");
	is_str(err.msg, "t: file too large (more than 1048576 bytes)", "  message");
	rules_release(&rs);
}

/* A deterministic generator: the junk is the same on every run, so failures reproduce. */
static uint32_t rng_state = 12345;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static void test_junk(void)
{
	static const char *const pieces[] = {
		"allow", "deny",    "ask",     "defer", "hide", "readonly", "scratch",
		"exec",	 "connect", "write",   " ",	"\t",	"\n",	    "\"",
		"\\",	 "#",	    "*",       "**",	"/",	"~",	    "$HOME",
		".",	 "..",	    ":",       "[",	"]",	"@",	    "unix:",
		"-",	 "$",	    "1.2.3.4", "::1",	"/24",	"\xff",	    "\xc3",
	};
	static const char *const heads[] = {
		"allow exec ",
		"deny exec /",
		"defer exec ~/",
		"ask connect ",
		"allow connect [",
		"deny connect unix:",
		"allow write ./",
		"ask write /",
		"hide ~/",
		"scratch /",
		"# ",
		"\n",
	};
	int clean = 1, added = 0;

	for (int round = 0; round < 3000; round++) {
		struct ruleset rs = RULESET_INIT;
		struct rules_error err = {0};
		char buf[512];
		size_t len = rng() % (round % 2 ? sizeof(buf) : 48);
		int rc;

		if (round % 2) {
			/* Raw bytes. */
			for (size_t i = 0; i < len; i++)
				buf[i] = (char)(rng() & 0xff);
		} else {
			/* Grammar-shaped junk reaches deeper: lines that start like rules. */
			size_t o = 0;

			while (o < len) {
				const char *p = pieces[rng() % ARRAY_SIZE(pieces)];
				size_t n;

				if (o == 0 || buf[o - 1] == '\n')
					p = heads[rng() % ARRAY_SIZE(heads)];
				n = strlen(p);
				if (o + n > len)
					break;
				memcpy(buf + o, p, n);
				o += n;
			}
			len = o;
		}
		rc = rules_parse_buffer(&rs, "t", buf, len, &env, &err);
		if (rc == 0) {
			const struct rule **v = NULL;
			char *argv[] = {(char *)"x", (char *)"y", NULL};
			struct rules_target t = {
				.family = AF_UNIX, .unix_name = "/a", .unix_len = 2};

			added += (int)rs.n;
			rules_match_exec(&rs, "/usr/bin/x", argv);
			rules_match_write(&rs, "/home/u/a/b");
			rules_match_connect(&rs, &t);
			rules_paths(&rs, RULE_HIDE, &v);
			free(v);
		} else if (rc != -EINVAL || strncmp(err.msg, "t:", 2) != 0) {
			clean = 0;
			printf("# round %d: rc %d, message '%s'\n", round, rc, err.msg);
		} else if (rs.n != 0) {
			clean = 0;
			printf("# round %d: rules added from a refused buffer\n", round);
		}
		rules_release(&rs);
	}
	ok(clean, "3000 buffers of junk: each parsed or refused with 't:LINE: message'");
	ok(added > 0, "  some grammar-shaped junk parsed (%d rules) and matched", added);
}

/* ---- expansion and quoting ---- */

struct expand_case {
	const char *text;
	const char *path; /* a path the rule must match */
};

static const struct expand_case expand_cases[] = {
	{"allow write ~", "/home/u"},
	{"allow write ~/a", "/home/u/a"},
	{"allow write $HOME", "/home/u"},
	{"allow write $HOME/b", "/home/u/b"},
	{"allow write .", "/work/p"},
	{"allow write ./c", "/work/p/c"},
	{"allow write ./", "/work/p"},
	{"allow write .//d/./e/", "/work/p/d/e"},
	{"allow write \"~/My Documents/**\"", "/home/u/My Documents/x"},
	{"allow write ~/\"My Documents\"/*.txt", "/home/u/My Documents/a b.txt"},
	{"allow write \"/q/a\\\"b\"", "/q/a\"b"},
	{"allow write \"/q/back\\\\slash\"", "/q/back\\slash"},
	{"allow write /q/lit\\*star", "/q/lit*star"},
	{"allow write /q/$HOME", "/q/$HOME"},
	{"allow write /q/~", "/q/~"},
};

static void test_expansion(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(expand_cases); i++) {
		const struct expand_case *c = &expand_cases[i];
		struct ruleset rs = RULESET_INIT;
		struct rules_error err = {0};

		is_int(parse(&rs, c->text, &err), 0, "parses: %s", c->text);
		is_int(line_of(rules_match_write(&rs, c->path)), 1, "  matches %s", c->path);
		rules_release(&rs);
	}

	/* The directories go in escaped: a starting directory named '*' matches only itself. */
	{
		struct rules_env star = {"/h/**", "/w/*"};
		struct ruleset rs = RULESET_INIT;
		const char *t = "allow write ./**\nallow write ~/x\nhide ./s";
		const struct rule **v = NULL;

		is_int(rules_parse_buffer(&rs, "t", t, strlen(t), &star, NULL), 0,
		       "a starting directory named '*' parses");
		is_int(line_of(rules_match_write(&rs, "/w/*/f")), 1, "  ./** matches under /w/*");
		is_int(line_of(rules_match_write(&rs, "/w/other/f")), 0,
		       "  but not under /w/other");
		is_int(line_of(rules_match_write(&rs, "/h/**/x")), 2, "  ~ = '/h/**' is literal");
		is_int(line_of(rules_match_write(&rs, "/h/a/b/x")), 0, "  and spans nothing");
		is_int(rules_paths(&rs, RULE_HIDE, &v), 1, "  hide ./s is a path");
		is_str(v[0]->path, "/w/*/s", "  unescaped");
		free(v);
		rules_release(&rs);
	}

	/* rule.text reads back as the same rule. */
	{
		struct ruleset rs = RULESET_INIT, back = RULESET_INIT;
		const char *t = "defer exec \"/opt/my app/run\" \"a b\" \"$\" \"#\" \"q\\\"\" $";
		struct buf line = BUF_INIT;

		is_int(parse(&rs, t, NULL), 0, "exec rule with quoted words parses");
		is_str(rs.rules[0]->text, "\"/opt/my app/run\" \"a b\" \"$\" \"#\" \"q\\\"\" $",
		       "  its text is re-quoted");
		buf_init(&line);
		buf_addf(&line, "defer exec %s", rs.rules[0]->text);
		is_int(parse(&back, line.data, NULL), 0, "  the text parses again");
		{
			char *a1[] = {(char *)"run", (char *)"a b", (char *)"$",
				      (char *)"#",   (char *)"q\"", NULL};
			char *a2[] = {(char *)"run", (char *)"a b",  (char *)"$", (char *)"#",
				      (char *)"q\"", (char *)"more", NULL};

			is_int(line_of(rules_match_exec(&back, "/opt/my app/run", a1)), 1,
			       "  to the same rule");
			is_int(line_of(rules_match_exec(&back, "/opt/my app/run", a2)), 0,
			       "  $ still ends it");
		}
		buf_release(&line);
		rules_release(&rs);
		rules_release(&back);
	}
}

static void test_quote(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"plain", "plain"},
		{"/a/b*", "/a/b*"},
		{"", "\"\""},
		{"a b", "\"a b\""},
		{"tab\there", "\"tab\there\""},
		{"#x", "\"#x\""},
		{"a#x", "a#x"},
		{"$", "\"$\""},
		{"$HOME", "$HOME"},
		{"q\"", "\"q\\\"\""},
		{"b\\s", "b\\s"},
		{"b\\ s", "\"b\\\\ s\""},
		{"\xc3\xa9", "\xc3\xa9"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		cleanup_free char *q = rules_quote(cases[i].in);

		is_str(q, cases[i].out, "rules_quote(%s)", cases[i].in);
	}
	errno = 0;
	ok(rules_quote("a\nb") == NULL && errno == EINVAL, "rules_quote refuses a newline");
}

/* ---- matching ---- */

static const char exec_rules[] = "allow exec *\n"		    /* 1 */
				 "deny exec curl\n"		    /* 2 */
				 "ask exec /usr/local/bin/*\n"	    /* 3 */
				 "defer exec git push\n"	    /* 4 */
				 "allow exec git push --dry-run\n"  /* 5 */
				 "deny exec git status $\n"	    /* 6 */
				 "allow exec ~/bin/**\n"	    /* 7 */
				 "deny exec ./tools/*.sh\n"	    /* 8 */
				 "allow exec py*\n"		    /* 9 */
				 "deny exec rm -rf /*\n"	    /* 10 */
				 "allow exec \"/opt/my app/run\"\n" /* 11 */
				 "ask exec sh -c \"*curl *\"\n"	    /* 12 */
				 "defer exec kubectl \"\" $\n";	    /* 13 */

struct exec_case {
	const char *path;
	const char *argv[6];
	unsigned int line;
};

static const struct exec_case exec_cases[] = {
	{"/usr/bin/ls", {"ls", "-l"}, 1},
	{"/usr/bin/curl", {"curl", "https://x"}, 2},
	{"/tmp/curl", {"curl"}, 2},
	{"/usr/local/bin/curl", {"curl"}, 3},
	{"/usr/local/bin/sub/tool", {"tool"}, 1},
	{"/usr/local/bin/./tool", {"tool"}, 3},
	{"/usr/local/lib/../bin/tool", {"tool"}, 3},
	{"/usr/bin/git", {"git", "push", "origin", "main"}, 4},
	{"/usr/bin/git", {"git", "push"}, 4},
	{"/usr/bin/git", {"git", "push", "--dry-run", "origin"}, 5},
	{"/usr/bin/git", {"git"}, 1},
	{"/usr/bin/git", {"git", "pull"}, 1},
	{"/usr/bin/git", {"git", "status"}, 6},
	{"/usr/bin/git", {"git", "status", "-s"}, 1},
	{"/home/u/bin/a/b/c", {"c"}, 7},
	{"/home/u/bin", {"bin"}, 7},
	{"/home/u/binx", {"binx"}, 1},
	{"/work/p/tools/x.sh", {"x.sh"}, 8},
	{"/work/p/tools/sub/x.sh", {"x.sh"}, 1},
	{"/usr/bin/python3", {"python3", "-c", "pass"}, 9},
	{"/bin/rm", {"rm", "-rf", "/home/u"}, 10},
	{"/bin/rm", {"rm", "-rf"}, 1},
	{"/opt/my app/run", {"run"}, 11},
	{"/bin/sh", {"sh", "-c", "echo; curl http://x"}, 12},
	{"/bin/sh", {"sh", "-c", "echo"}, 1},
	{"/usr/bin/kubectl", {"kubectl", ""}, 13},
	{"/usr/bin/kubectl", {"kubectl", "x"}, 1},
	{"/usr/bin/kubectl", {"kubectl"}, 1},
};

/* A rule's "source:line", allocated or cut into a buffer (a verdict's `by`). */
static void test_origin(void)
{
	static const char text[] = "\n\n\n\n\n\n\n\n\n\n\n\n"
				   "allow exec /usr/bin/true\n";
	char src[300], small[16], big[64];
	struct ruleset rs = RULESET_INIT;
	struct rules_error err;
	cleanup_free char *origin = NULL;

	memset(src, 'r', sizeof(src) - 1);
	src[sizeof(src) - 1] = '\0';
	is_int(rules_parse_buffer(&rs, src, text, strlen(text), &env, &err), 0,
	       "a rules file with a 299-byte name parses");
	origin = rule_origin(rs.rules[0]);
	ok(strlen(origin) == 302 && strncmp(origin, src, 299) == 0 &&
		   strcmp(origin + 299, ":13") == 0,
	   "rule_origin() is the whole name, a colon and the line");
	rule_origin_to(rs.rules[0], big, sizeof(big));
	ok(strlen(big) == 55 && strcmp(big + 52, ":13") == 0,
	   "rule_origin_to() cuts the name to leave room for the line in 64 bytes");
	rule_origin_to(rs.rules[0], small, sizeof(small));
	is_str(small, "rrrr:13", "and in 16, the least it takes");
	rules_release(&rs);
}

static void test_match_exec(void)
{
	struct ruleset rs = RULESET_INIT;
	struct rules_error err;

	is_int(parse(&rs, exec_rules, &err), 0, "exec rules parse");
	for (size_t i = 0; i < ARRAY_SIZE(exec_cases); i++) {
		const struct exec_case *c = &exec_cases[i];
		struct buf desc = BUF_INIT;

		buf_init(&desc);
		for (const char *const *a = c->argv; *a; a++)
			buf_addf(&desc, " '%s'", *a);
		is_int(line_of(rules_match_exec(&rs, c->path, (char *const *)c->argv)), c->line,
		       "exec %s%s -> line %u", c->path, desc.data, c->line);
		buf_release(&desc);
	}
	is_int(line_of(rules_match_exec(&rs, "/usr/bin/git", NULL)), 1, "a NULL argv has no args");
	rules_release(&rs);
}

static const char write_rules[] = "ask write /**\n"		      /* 1 */
				  "allow write ./**\n"		      /* 2 */
				  "deny write ./.git/**\n"	      /* 3 */
				  "allow write /tmp/*.txt\n"	      /* 4 */
				  "deny write ~/.bashrc\n"	      /* 5 */
				  "allow write $HOME/notes/**/*.md\n" /* 6 */
				  "ask write /work/p/a*/b\n"	      /* 7 */
				  "allow write /srv/**/cache/**\n";   /* 8 */

static const struct {
	const char *path;
	unsigned int line;
} write_cases[] = {
	{"/etc/passwd", 1},
	{"/", 1},
	{"/work/p", 2},
	{"/work/p/src/x.c", 2},
	{"/work/p/.git", 3},
	{"/work/p/.git/config", 3},
	{"/work/p/.gitignore", 2},
	{"/work/pq/x", 1},
	{"/work", 1},
	{"/tmp/a.txt", 4},
	{"/tmp/.txt", 4},
	{"/tmp/sub/a.txt", 1},
	{"/tmp/a.txt.bak", 1},
	{"/home/u/.bashrc", 5},
	{"/home/u/notes/a.md", 6},
	{"/home/u/notes/x/y/a.md", 6},
	{"/home/u/notes/x/a.txt", 1},
	{"/work/p/abc/b", 7},
	{"/work/p/a/b", 7},
	{"/work/p/x/a/b", 2},
	{"/srv/cache", 8},
	{"/srv/a/b/cache/c/d", 8},
	{"/srv/a/b/nocache/c", 1},
	{"//work//p//x//", 2},
	{"/work/p/../p/.git/x", 3},
	{"/work/p/src/../../etc/passwd", 1},
	{"/work/p/../../home/u/.bashrc", 5},
	{"src/x.c", 0},
	{"", 0},
};

static void test_match_write(void)
{
	struct ruleset rs = RULESET_INIT;
	struct rules_error err;

	is_int(parse(&rs, write_rules, &err), 0, "write rules parse");
	for (size_t i = 0; i < ARRAY_SIZE(write_cases); i++)
		is_int(line_of(rules_match_write(&rs, write_cases[i].path)), write_cases[i].line,
		       "write '%s' -> line %u", write_cases[i].path, write_cases[i].line);
	rules_release(&rs);

	/* Many stars against a long hostile path: linear walks, not exponential. */
	{
		struct buf pat = BUF_INIT, path = BUF_INIT;

		buf_init(&pat);
		buf_init(&path);
		buf_adds(&pat, "allow write /");
		for (int i = 0; i < 30; i++)
			buf_adds(&pat, "**/*a*a*a*/");
		buf_adds(&pat, "b");
		for (int i = 0; i < 200; i++)
			buf_adds(&path, "/aaaaaaaaaaaaaaaaaaaa");
		is_int(parse(&rs, pat.data, &err), 0, "a pattern of 30 '**' and 90 '*' parses");
		is_int(line_of(rules_match_write(&rs, path.data)), 0,
		       "  and fails to match 200 components quickly");
		buf_release(&pat);
		buf_release(&path);
		rules_release(&rs);
	}
}

/* A small deterministic generator, so that a failure repeats. */
static uint32_t rnd_state = 12345;

static uint32_t rnd(uint32_t n)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (rnd_state >> 8) % n;
}

/* A random absolute path glob or path of 1-6 components from words. */
static void rnd_path(struct buf *b, const char *const *words, size_t nwords)
{
	size_t n = 1 + rnd(6);

	for (size_t i = 0; i < n; i++) {
		buf_addc(b, '/');
		buf_adds(b, words[rnd((uint32_t)nwords)]);
	}
}

/*
 * The per-directory matchers give what the plain ones give, for random rules over random
 * paths in random order (the cache kept by depth sees every kind of miss), odd paths too.
 */
static void test_match_cached(void)
{
	static const char *const pat_words[] = {"a",  "b",    "ab",   "*",   "a*", "*b",
						"**", ".git", "x\\*", "c*c", "**", "**"};
	static const char *const path_words[] = {"a",  "b", "ab",  "aab", ".git",
						 "x*", "c", "cbc", "ba"};
	static const char *const odd[] = {"/",	 "/a//b", "/a/./b", "/a/../b", "/a/",
					  "a/b", "/.git", "//",	    "/a/b/.."};
	size_t bad_write = 0, bad_risk = 0, nwrite = 0, nrisk = 0;

	for (int round = 0; round < 200; round++) {
		struct ruleset rs = RULESET_INIT;
		struct rules_cache c = {0};
		struct rules_error err;
		struct buf text = BUF_INIT;

		buf_init(&text);
		for (int i = 0; i < 12; i++) {
			static const char *const kinds[] = {"allow write ", "deny write ",
							    "ask write ", "sensitive "};

			buf_adds(&text, kinds[rnd(4)]);
			rnd_path(&text, pat_words, ARRAY_SIZE(pat_words));
			buf_addc(&text, '\n');
		}
		if (parse(&rs, text.data, &err) != 0) {
			ok(0, "random rules parse: %s", err.msg);
			buf_release(&text);
			continue;
		}
		for (int i = 0; i < 400; i++) {
			struct buf path = BUF_INIT;
			const struct rule *w, *r, *cw, *cr;

			buf_init(&path);
			if (rnd(10) == 0)
				buf_adds(&path, odd[rnd(ARRAY_SIZE(odd))]);
			else
				rnd_path(&path, path_words, ARRAY_SIZE(path_words));
			rules_match_cached(&rs, &c, path.data, &cw, &cr);
			w = rules_match_write(&rs, path.data);
			r = rules_match_sensitive(&rs, path.data);
			bad_write += cw != w;
			bad_risk += cr != r;
			nwrite += w != NULL;
			nrisk += r != NULL;
			buf_release(&path);
		}
		rules_cache_free(&c);
		rules_release(&rs);
		buf_release(&text);
	}
	is_int((int)bad_write, 0, "cached write matching: the same rule for 80,000 paths");
	is_int((int)bad_risk, 0, "cached sensitive matching: the same rule for 80,000 paths");
	ok(nwrite > 5000 && nrisk > 5000, "  many of which match (%zu, %zu)", nwrite, nrisk);

	{
		static const struct {
			const char *pat, *dir;
			int how;
		} cases[] = {
			{"/**/.git", "/a/b", GLOB_CHILD_SEG},
			{"/**/.git/**/hooks/**", "/a/b", GLOB_CHILD_NONE},
			{"/**/.git/**/hooks/**", "/a/.git", GLOB_CHILD_SEG},
			{"/**/.git/**/hooks/**", "/a/.git/x/hooks", GLOB_CHILD_ANY},
			{"/home/u/.ssh/*", "/home/u", GLOB_CHILD_NONE},
			{"/home/u/.ssh/*", "/home/u/.ssh", GLOB_CHILD_SEG},
			{"/home/u/**", "/home/u", GLOB_CHILD_ANY},
			{"/home/u/**", "/home", GLOB_CHILD_SEG},
			{"/*", "/", GLOB_CHILD_SEG},
			{"/a/b", "/", GLOB_CHILD_NONE},
			{"/**", "/", GLOB_CHILD_ANY},
		};
		struct glob_child gc;

		for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
			glob_match_child(cases[i].pat, cases[i].dir, &gc);
			is_int((int)gc.how, cases[i].how, "'%s' in %s: how %d", cases[i].pat,
			       cases[i].dir, cases[i].how);
		}
	}
}

static const char connect_rules[] = "deny connect *\n"				  /* 1 */
				    "allow connect *:443\n"			  /* 2 */
				    "deny connect 10.0.0.0/8\n"			  /* 3 */
				    "allow connect 10.1.2.3:5432\n"		  /* 4 */
				    "allow connect *.github.com\n"		  /* 5 */
				    "deny connect evil.github.com:*\n"		  /* 6 */
				    "allow connect 2001:db8::/32\n"		  /* 7 */
				    "allow connect [::1]:8000-8100\n"		  /* 8 */
				    "allow connect unix:/run/user/1000/*.sock\n"  /* 9 */
				    "allow connect unix:@dbus-*\n"		  /* 10 */
				    "deny connect unix:/run/user/1000/bus.sock\n" /* 11 */
				    "allow connect LocalHost.:80\n"		  /* 12 */
				    "allow connect ::ffff:192.168.0.0/112\n"	  /* 13 */
				    "allow connect unix:./app.sock\n"		  /* 14 */
				    "allow connect unix:@exact\n"		  /* 15 */
				    "ask connect 192.168.1.77/24:22\n"		  /* 16 */
				    "allow connect [2001:db8:1::/48]:22\n";	  /* 17 */

struct connect_case {
	const char *desc;
	int family;
	const char *addr; /* text for inet_pton; NULL for none */
	int port;
	const char *name;
	const char *unix_name;
	size_t unix_len; /* 0: strlen */
	bool abstract;
	unsigned int line;
};

static const struct connect_case connect_cases[] = {
	{"8.8.8.8:53", AF_INET, "8.8.8.8", 53, NULL, NULL, 0, false, 1},
	{"8.8.8.8:443", AF_INET, "8.8.8.8", 443, NULL, NULL, 0, false, 2},
	{"10.9.9.9:443 (CIDR)", AF_INET, "10.9.9.9", 443, NULL, NULL, 0, false, 3},
	{"10.1.2.3:5432", AF_INET, "10.1.2.3", 5432, NULL, NULL, 0, false, 4},
	{"10.1.2.3:5433", AF_INET, "10.1.2.3", 5433, NULL, NULL, 0, false, 3},
	{"api.github.com:22", AF_INET, "140.82.1.1", 22, "api.github.com", NULL, 0, false, 5},
	{"API.GitHub.COM.:22", AF_INET, "140.82.1.1", 22, "API.GitHub.COM.", NULL, 0, false, 5},
	{"a.b.github.com:22", AF_INET, "140.82.1.1", 22, "a.b.github.com", NULL, 0, false, 5},
	{"github.com:22 (not *.github.com)", AF_INET, "140.82.1.1", 22, "github.com", NULL, 0,
	 false, 1},
	{"evilgithub.com:22", AF_INET, "140.82.1.1", 22, "evilgithub.com", NULL, 0, false, 1},
	{"evil.github.com:22", AF_INET, "140.82.1.1", 22, "evil.github.com", NULL, 0, false, 6},
	{"[2001:db8::1]:22", AF_INET6, "2001:db8::1", 22, NULL, NULL, 0, false, 7},
	{"[2001:db9::1]:22", AF_INET6, "2001:db9::1", 22, NULL, NULL, 0, false, 1},
	{"[2001:db8:1::5]:22", AF_INET6, "2001:db8:1::5", 22, NULL, NULL, 0, false, 17},
	{"[2001:db8:1::5]:23", AF_INET6, "2001:db8:1::5", 23, NULL, NULL, 0, false, 7},
	{"[::1]:8050", AF_INET6, "::1", 8050, NULL, NULL, 0, false, 8},
	{"[::1]:8000", AF_INET6, "::1", 8000, NULL, NULL, 0, false, 8},
	{"[::1]:8100", AF_INET6, "::1", 8100, NULL, NULL, 0, false, 8},
	{"[::1]:8101", AF_INET6, "::1", 8101, NULL, NULL, 0, false, 1},
	{"[::1]:443", AF_INET6, "::1", 443, NULL, NULL, 0, false, 2},
	{"[::ffff:10.1.2.3]:5432 as IPv4", AF_INET6, "::ffff:10.1.2.3", 5432, NULL, NULL, 0, false,
	 4},
	{"[::ffff:10.7.7.7]:80 as IPv4", AF_INET6, "::ffff:10.7.7.7", 80, NULL, NULL, 0, false, 3},
	{"[::ffff:192.168.5.5]:80", AF_INET6, "::ffff:192.168.5.5", 80, NULL, NULL, 0, false, 13},
	{"192.168.5.5:80 (mapped rule)", AF_INET, "192.168.5.5", 80, NULL, NULL, 0, false, 13},
	{"192.168.1.3:22 (host bits masked)", AF_INET, "192.168.1.3", 22, NULL, NULL, 0, false, 16},
	{"192.168.2.3:22", AF_INET, "192.168.2.3", 22, NULL, NULL, 0, false, 13},
	{"[::10.1.2.3]:5432 is IPv6", AF_INET6, "::10.1.2.3", 5432, NULL, NULL, 0, false, 1},
	{"127.0.0.1:80 named localhost", AF_INET, "127.0.0.1", 80, "localhost", NULL, 0, false, 12},
	{"127.0.0.1:80 unnamed", AF_INET, "127.0.0.1", 80, NULL, NULL, 0, false, 1},
	{"name only x.github.com", AF_UNSPEC, NULL, -1, "x.github.com", NULL, 0, false, 5},
	{"name only foo.com, port unknown", AF_UNSPEC, NULL, -1, "foo.com", NULL, 0, false, 1},
	{"name only foo.com:443", AF_UNSPEC, NULL, 443, "foo.com", NULL, 0, false, 2},
	{"unix /run/user/1000/x.sock", AF_UNIX, NULL, -1, NULL, "/run/user/1000/x.sock", 0, false,
	 9},
	{"unix /run/user/1000/bus.sock", AF_UNIX, NULL, -1, NULL, "/run/user/1000/bus.sock", 0,
	 false, 11},
	{"unix /run/user/1000/sub/x.sock", AF_UNIX, NULL, -1, NULL, "/run/user/1000/sub/x.sock", 0,
	 false, 1},
	{"unix /var/run/docker.sock", AF_UNIX, NULL, -1, NULL, "/var/run/docker.sock", 0, false, 1},
	{"unix /work/p/app.sock", AF_UNIX, NULL, -1, NULL, "/work/p/app.sock", 0, false, 14},
	{"unix /work/p/x/../app.sock", AF_UNIX, NULL, -1, NULL, "/work/p/x/../app.sock", 0, false,
	 14},
	{"unix path named like an abstract one", AF_UNIX, NULL, -1, NULL, "dbus-x", 0, false, 1},
	{"abstract @dbus-abc", AF_UNIX, NULL, -1, NULL, "dbus-abc", 0, true, 10},
	{"abstract @dbus", AF_UNIX, NULL, -1, NULL, "dbus", 0, true, 1},
	{"abstract @exact", AF_UNIX, NULL, -1, NULL, "exact", 0, true, 15},
	{"abstract @exact\\0more is another socket", AF_UNIX, NULL, -1, NULL, "exact\0more", 10,
	 true, 1},
	{"abstract /run/user/1000/x.sock", AF_UNIX, NULL, -1, NULL, "/run/user/1000/x.sock", 0,
	 true, 1},
};

static void test_match_connect(void)
{
	struct ruleset rs = RULESET_INIT;
	struct rules_error err;

	is_int(parse(&rs, connect_rules, &err), 0, "connect rules parse");
	if (rs.n == 0)
		printf("#   %s\n", err.msg);
	for (size_t i = 0; i < ARRAY_SIZE(connect_cases); i++) {
		const struct connect_case *c = &connect_cases[i];
		struct rules_target t;

		memset(&t, 0, sizeof(t));
		t.family = c->family;
		t.port = c->port;
		t.name = c->name;
		if (c->addr && inet_pton(c->family, c->addr, &t.addr) != 1)
			printf("# bad test address %s\n", c->addr);
		t.unix_name = c->unix_name;
		t.unix_len = c->unix_len ? c->unix_len : (c->unix_name ? strlen(c->unix_name) : 0);
		t.abstract = c->abstract;
		is_int(line_of(rules_match_connect(&rs, &t)), c->line, "connect %s -> line %u",
		       c->desc, c->line);
	}
	rules_release(&rs);

	/* Without a catch-all, nothing matches what no rule names. */
	{
		struct rules_target t = {.family = AF_UNIX, .unix_name = "/x", .unix_len = 2};

		parse(&rs, "allow connect *:*\nallow connect 0.0.0.0/0\nallow connect ::/0", NULL);
		ok(rules_match_connect(&rs, &t) == NULL, "*:* and /0 do not match a Unix socket");
		parse(&rs, "ask connect unix:*", NULL);
		is_int(line_of(rules_match_connect(&rs, &t)), 1, "unix:* does");
		t.abstract = true;
		is_int(line_of(rules_match_connect(&rs, &t)), 1, "  abstract ones too");
		rules_release(&rs);
	}
}

/* Which names the sandbox's DNS answers NXDOMAIN: those no connection could be allowed to. */
static void test_name_denied(void)
{
	static const struct {
		const char *rules, *name;
		bool denied;
		unsigned line;
		const char *desc;
	} cases[] = {
		{"deny connect *", "a.test", true, 1, "deny * denies every name"},
		{"", "a.test", true, 0, "no rule: denied, by nobody"},
		{"ask connect *", "a.test", false, 0, "ask: looked up (the connect asks)"},
		{"deny connect *\nallow connect pypi.org:443", "pypi.org", false, 0,
		 "a port rule for the name lets it be looked up"},
		{"deny connect *\nallow connect pypi.org:443", "evil.test", true, 1,
		 "  and only that name"},
		{"allow connect pypi.org:443\ndeny connect *", "pypi.org", true, 2,
		 "a later deny * wins"},
		{"allow connect *.github.com\ndeny connect evil.github.com", "evil.github.com",
		 true, 2, "a later deny of the name"},
		{"allow connect *.github.com\ndeny connect evil.github.com:443", "evil.github.com",
		 false, 0, "a deny of one port leaves the others"},
		{"deny connect *\nallow connect 10.0.0.0/8", "intranet.test", false, 0,
		 "an address rule that allows may match the name's address"},
		{"allow connect *\ndeny connect 10.0.0.0/8", "a.test", false, 0,
		 "an address deny is not sure to hold"},
		{"deny connect *\ndeny connect 10.0.0.0/8", "a.test", true, 1,
		 "address denies only: denied"},
		{"deny connect *\nallow connect *:8000-8100\ndeny connect *:8000-8050\ndeny connect "
		 "*:8051-8100",
		 "a.test", true, 1, "port ranges that cover each other"},
		{"deny connect *\nallow connect *:8000-8100\ndeny connect *:8000-8050", "a.test",
		 false, 0, "a range left open at its end"},
		{"deny connect *\nallow connect unix:*", "a.test", true, 1,
		 "unix rules do not count"},
		{"deny connect *\nallow connect A.Test", "a.test.", false, 0,
		 "case and a trailing dot do not count"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct ruleset rs = RULESET_INIT;
		const struct rule *by = (const struct rule *)&rs;
		bool d;

		parse(&rs, cases[i].rules, NULL);
		d = rules_name_denied(&rs, cases[i].name, &by);
		ok(d == cases[i].denied && line_of(by) == cases[i].line, "name: %s", cases[i].desc);
		rules_release(&rs);
	}
}

static void test_name_reach(void)
{
	static const struct {
		const char *rules, *name;
		enum rules_name_reach reach;
		unsigned line;
		const char *desc;
	} cases[] = {
		{"ask connect *", "a.test", NAME_ASKED, 1, "ask *: only an ask opens it"},
		{"ask connect *\nallow connect *.example.org", "x.example.org", NAME_ALLOWED, 0,
		 "an allow for the name"},
		{"ask connect *\nallow connect *.example.org", "x.attacker.test", NAME_ASKED, 1,
		 "  other names stay asked"},
		{"deny connect *\nask connect pypi.org:443", "pypi.org", NAME_ASKED, 2,
		 "an ask at one port"},
		{"deny connect *\nallow connect 10.0.0.0/8", "a.test", NAME_ALLOWED, 0,
		 "an address allow may match any name's address"},
		{"deny connect *\nask connect 10.0.0.0/8", "a.test", NAME_ASKED, 2,
		 "an address ask: asked"},
		{"deny connect *", "a.test", NAME_DENIED, 1, "deny *"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct ruleset rs = RULESET_INIT;
		const struct rule *by = (const struct rule *)&rs;
		enum rules_name_reach r;

		parse(&rs, cases[i].rules, NULL);
		r = rules_name_reach(&rs, cases[i].name, &by);
		ok(r == cases[i].reach && line_of(by) == cases[i].line, "reach: %s", cases[i].desc);
		rules_release(&rs);
	}
}

static void test_match_loopback(void)
{
	static const struct {
		const char *rules, *addr, *name;
		int port;
		unsigned line;
		const char *desc;
	} cases[] = {
		{"allow connect *.example.org", "127.0.0.1", "localhost", 80, 0,
		 "a name glob never names the loopback"},
		{"allow connect evil.example.org", "127.0.0.1", "localhost", 80, 0,
		 "  nor does another exact name"},
		{"allow connect localhost:5432", "127.0.0.1", "localhost", 5432, 1,
		 "localhost does"},
		{"allow connect LOCALHOST.", "127.0.0.1", "localhost", 1, 1, "  in any case"},
		{"allow connect l*", "127.0.0.1", "localhost", 1, 0,
		 "  a glob that matches it does not"},
		{"allow connect 127.0.0.1:8080", "127.0.0.1", "localhost", 8080, 1,
		 "an address does"},
		{"allow connect 127.0.0.0/8", "127.0.0.2", "localhost", 1, 1,
		 "  a loopback CIDR too"},
		{"allow connect *", "127.0.0.1", "localhost", 1, 0, "* does not"},
		{"allow connect 0.0.0.0/0", "127.0.0.1", "localhost", 1, 0, "  nor 0.0.0.0/0"},
		{"allow connect 192.0.2.2:22", "192.0.2.2", NULL, 22, 1,
		 "an own address: the whole address names it"},
		{"allow connect 192.0.2.0/24", "192.0.2.2", NULL, 22, 0, "  a wider CIDR does not"},
		{"allow connect localhost", "192.0.2.2", NULL, 22, 0, "  nor localhost"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct ruleset rs = RULESET_INIT;
		struct rules_target t = {
			.family = AF_INET, .name = cases[i].name, .port = cases[i].port};

		inet_pton(AF_INET, cases[i].addr, &t.addr.v4);
		parse(&rs, cases[i].rules, NULL);
		is_int(line_of(rules_match_loopback(&rs, &t)), cases[i].line, "host-local: %s",
		       cases[i].desc);
		rules_release(&rs);
	}
	{
		struct ruleset rs = RULESET_INIT;

		parse(&rs, "allow connect *.example.org\nallow connect 10.0.0.0/8", NULL);
		ok(rule_by_name(rs.rules[0]) && !rule_by_name(rs.rules[1]),
		   "rule_by_name tells a name rule from an address rule");
		rules_release(&rs);
	}
}

static void test_sockaddr(void)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_un *sun = (struct sockaddr_un *)&ss;
	socklen_t off = (socklen_t)offsetof(struct sockaddr_un, sun_path);
	struct rules_target t;

	memset(&ss, 0, sizeof(ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(443);
	inet_pton(AF_INET, "1.2.3.4", &sin->sin_addr);
	is_int(rules_target_from_sockaddr(&t, (struct sockaddr *)&ss, sizeof(*sin), "h"), 0,
	       "sockaddr_in");
	ok(t.family == AF_INET && t.port == 443 && t.addr.v4.s_addr == sin->sin_addr.s_addr &&
		   strcmp(t.name, "h") == 0,
	   "  family, address, port, name");
	is_int(rules_target_from_sockaddr(&t, (struct sockaddr *)&ss, sizeof(*sin) - 1, NULL),
	       -EINVAL, "  short sockaddr_in");

	memset(&ss, 0, sizeof(ss));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(22);
	inet_pton(AF_INET6, "::ffff:10.0.0.1", &sin6->sin6_addr);
	is_int(rules_target_from_sockaddr(&t, (struct sockaddr *)&ss, sizeof(*sin6), NULL), 0,
	       "sockaddr_in6, v4-mapped");
	ok(t.family == AF_INET && t.port == 22 && t.addr.v4.s_addr == htonl(0x0a000001),
	   "  becomes AF_INET 10.0.0.1");
	inet_pton(AF_INET6, "2001:db8::7", &sin6->sin6_addr);
	rules_target_from_sockaddr(&t, (struct sockaddr *)&ss, sizeof(*sin6), NULL);
	ok(t.family == AF_INET6 && memcmp(&t.addr.v6, &sin6->sin6_addr, 16) == 0,
	   "  plain IPv6 stays AF_INET6");

	memset(&ss, 0, sizeof(ss));
	sun->sun_family = AF_UNIX;
	strcpy(sun->sun_path, "/run/x.sock");
	is_int(rules_target_from_sockaddr(&t, (struct sockaddr *)&ss, sizeof(*sun), NULL), 0,
	       "sockaddr_un path");
	ok(t.family == AF_UNIX && !t.abstract && t.unix_len == 11 &&
		   memcmp(t.unix_name, "/run/x.sock", 11) == 0,
	   "  path and length");
	memcpy(sun->sun_path, "\0abs\0x", 6);
	is_int(rules_target_from_sockaddr(&t, (struct sockaddr *)&ss, off + 6, NULL), 0,
	       "sockaddr_un abstract");
	ok(t.abstract && t.unix_len == 5 && memcmp(t.unix_name, "abs\0x", 5) == 0,
	   "  name keeps its NUL byte");
	is_int(rules_target_from_sockaddr(&t, (struct sockaddr *)&ss, off, NULL), -EINVAL,
	       "unnamed Unix socket");
	sun->sun_family = AF_NETLINK;
	is_int(rules_target_from_sockaddr(&t, (struct sockaddr *)&ss, sizeof(*sun), NULL),
	       -EAFNOSUPPORT, "other families");
}

/* ---- defaults, sources, path directives ---- */

static void test_defaults(void)
{
	static const char *const hidden[] = {
		"/home/u/.ssh",	      "/home/u/.gnupg",		"/home/u/.aws",
		"/home/u/.azure",     "/home/u/.config/gcloud", "/home/u/.kube",
		"/home/u/.docker",    "/home/u/.netrc",		"/home/u/.password-store",
		"/home/u/.config/gh",
	};
	struct ruleset rs = RULESET_INIT;
	struct rules_error err;
	struct rules_target any = {.family = AF_INET, .port = 443};
	const struct rule **v = NULL;
	const struct rule *r;
	size_t n;

	ok(strstr(rules_defaults_text(), "ask   write   /**") != NULL,
	   "defaults text as design.md");
	is_int(rules_load_defaults(&rs, &env, &err), 0, "defaults load");
	{
		size_t nrisk = 0;

		for (size_t i = 0; i < rs.n; i++)
			nrisk += rs.rules[i]->cls == RULE_RISK;
		is_int(rs.n - nrisk, 14, "  4 rules and 10 hidden paths");
		ok(nrisk > 30, "  and the sensitive paths (%zu)", nrisk);
	}
	r = rules_match_exec(&rs, "/usr/bin/ls", NULL);
	ok(r && r->action == RULE_ALLOW, "  allow exec *");
	{
		cleanup_free char *o = r ? rule_origin(r) : NULL;

		is_str(o, "<defaults>:1", "  named <defaults>:1");
	}
	r = rules_match_connect(&rs, &any);
	ok(r && r->action == RULE_ASK && r->line == 2, "  ask connect *");
	r = rules_match_write(&rs, "/etc/passwd");
	ok(r && r->action == RULE_ASK && r->line == 3, "  ask write /**");
	r = rules_match_write(&rs, "/work/p/src/main.c");
	ok(r && r->action == RULE_ALLOW && r->line == 4, "  allow write ./**");
	r = rules_match_write(&rs, "/work/p");
	ok(r && r->action == RULE_ALLOW && r->line == 4, "  ./** includes the directory itself");
	n = rules_paths(&rs, RULE_HIDE, &v);
	is_int(n, ARRAY_SIZE(hidden), "  10 hidden paths");
	for (size_t i = 0; i < n && i < ARRAY_SIZE(hidden); i++)
		ok(strcmp(v[i]->path, hidden[i]) == 0 && v[i]->line == 5 &&
			   strcmp(v[i]->source, RULES_DEFAULTS_NAME) == 0,
		   "  hide %s (<defaults>:5)", hidden[i]);
	ok(v[n] == NULL, "  the list ends with NULL");
	free(v);
	is_int(rules_paths(&rs, RULE_READONLY, &v), 0, "  nothing readonly");
	free(v);

	/* Later sources override: last match wins across files. */
	parse(&rs, "deny exec curl\nreadonly ~/.docker\nscratch /tmp/cache", NULL);
	rules_parse_buffer(&rs, "u", "allow exec curl\nask write ./secret", 34, &env, NULL);
	r = rules_match_exec(&rs, "/usr/bin/curl", NULL);
	ok(r && r->action == RULE_ALLOW && strcmp(r->source, "u") == 0, "a later file overrides");
	r = rules_match_write(&rs, "/work/p/other");
	ok(r && r->line == 4 && strcmp(r->source, RULES_DEFAULTS_NAME) == 0,
	   "  where it says nothing, <defaults>:4 decides");
	r = rules_match_write(&rs, "/work/p/secret");
	ok(r && r->action == RULE_ASK && r->line == 2 && strcmp(r->source, "u") == 0,
	   "  and with it u:2 does");
	is_int(rs.nsources, 3, "  three sources");
	is_int(rules_paths(&rs, RULE_HIDE, &v), 9, "readonly ~/.docker unhides it");
	free(v);
	n = rules_paths(&rs, RULE_READONLY, &v);
	ok(n == 1 && strcmp(v[0]->path, "/home/u/.docker") == 0, "  and makes it readonly");
	free(v);
	n = rules_paths(&rs, RULE_SCRATCH, &v);
	ok(n == 1 && strcmp(v[0]->path, "/tmp/cache") == 0 && strcmp(v[0]->source, "t") == 0,
	   "scratch /tmp/cache");
	free(v);
	rules_release(&rs);
	ok(rs.n == 0 && rs.rules == NULL && rs.nsources == 0, "released");
}

static void test_names(void)
{
	is_str(rule_action_name(RULE_ALLOW), "allow", "action names");
	is_str(rule_action_name(RULE_DEFER), "defer", "  defer");
	is_str(rule_action_name(RULE_SCRATCH), "scratch", "  scratch");
	is_str(rule_action_name((enum rule_action)99), "?", "  out of range");
	is_str(rule_class_name(RULE_CONNECT), "connect", "class names");
	is_str(rule_class_name((enum rule_class) - 1), "?", "  out of range");
}

/* ---- files ---- */

static char dir[PATH_MAX];

static char *in_dir(const char *rel)
{
	return path_join(dir, rel);
}

static void write_text(const char *p, const char *text, mode_t mode)
{
	cleanup_fd int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || fchmod(fd, mode))
		printf("# cannot write %s: %s\n", p, strerror(errno));
}

/*
 * Ownership: root's files pass for everyone, so as root the file and its directory are given
 * to another uid; as a user, the check runs for another uid instead. Same tests either way.
 */
static void test_owner(const char *good, uid_t me, uid_t other)
{
	char *msg;
	struct rules_error err;
	char tmp[] = "/tmp/test_rules_owner.XXXXXX";
	uid_t owner = me == 0 ? other : me, checker = me == 0 ? 0 : other;
	int fd = mkstemp(tmp);

	if (fd >= 0)
		close(fd);
	if (me == 0 && (chown(tmp, other, (gid_t)-1) < 0 || chown(dir, other, (gid_t)-1) < 0))
		printf("# chown: %s\n", strerror(errno));
	is_int(rules_file_trusted(tmp, checker, &err), -EPERM, "a file of another user is refused");
	msg = xasprintf("%s: owned by uid %u, neither you nor root", tmp, (unsigned int)owner);
	is_str(err.msg, msg, "  message");
	free(msg);
	is_int(rules_file_trusted(good, checker, &err), -EPERM,
	       "a file in a directory of another user is refused");
	msg = xasprintf("%s: directory %s is owned by uid %u, neither you nor root", good, dir,
			(unsigned int)owner);
	is_str(err.msg, msg, "  message");
	free(msg);
	if (me == 0 && chown(dir, 0, (gid_t)-1) < 0)
		printf("# chown: %s\n", strerror(errno));
	unlink(tmp);
}

static void test_trust(void)
{
	cleanup_free char *good = in_dir("rules"), *sub = in_dir("open"), *bad = in_dir("open/r"),
			  *link = in_dir("link"), *via = in_dir("open/via"), *fifo = in_dir("fifo");
	char *msg;
	uid_t me = getuid(), other = getuid() + 4242;
	struct rules_error err;
	char cwd[PATH_MAX];

	write_text(good, "allow exec *\n", 0644);
	is_int(rules_file_trusted(good, me, &err), 0, "a 0644 file in a 0700 dir is trusted");
	if (!getcwd(cwd, sizeof(cwd)) || chdir(dir) < 0)
		printf("# chdir: %s\n", strerror(errno));
	is_int(rules_file_trusted("rules", me, &err), 0, "  also by a relative path");
	is_int(rules_file_trusted("./x/../rules", me, &err), -ENOENT, "  '..' after a missing dir");
	if (chdir(cwd) < 0)
		printf("# chdir back: %s\n", strerror(errno));

	chmod(good, 0664);
	is_int(rules_file_trusted(good, me, &err), -EPERM, "a group-writable file is refused");
	msg = xasprintf("%s: writable by group or others", good);
	is_str(err.msg, msg, "  message");
	free(msg);
	chmod(good, 0646);
	is_int(rules_file_trusted(good, me, &err), -EPERM, "a world-writable file is refused");
	chmod(good, 0600);
	test_owner(good, me, other);
	ok(rules_file_trusted("/etc/passwd", other, &err) == 0 || access("/etc/passwd", F_OK),
	   "root's 0644 file is trusted by anyone");

	chmod(dir, 0770);
	is_int(rules_file_trusted(good, me, &err), -EPERM, "a group-writable directory is refused");
	msg = xasprintf("%s: directory %s is writable by group or others", good, dir);
	is_str(err.msg, msg, "  message");
	free(msg);
	chmod(dir, 0707);
	is_int(rules_file_trusted(good, me, &err), -EPERM, "a world-writable directory is refused");
	chmod(dir, 0700);

	/* Symlinks: every directory the lookup passes through counts. */
	mkdir(sub, 0700);
	write_text(bad, "allow exec *\n", 0644);
	if (symlink("rules", link) < 0 || symlink("../rules", via) < 0)
		printf("# symlink: %s\n", strerror(errno));
	is_int(rules_file_trusted(link, me, &err), 0, "a symlink in a good dir to a good file");
	is_int(rules_file_trusted(via, me, &err), 0, "  and through '..'");
	chmod(sub, 0777);
	is_int(rules_file_trusted(bad, me, &err), -EPERM, "a file in a 0777 dir is refused");
	is_int(rules_file_trusted(via, me, &err), -EPERM,
	       "a symlink in a 0777 dir is refused, though its target is fine");
	{
		cleanup_free char *to_bad = in_dir("tobad");

		if (symlink("open/r", to_bad) < 0)
			printf("# symlink: %s\n", strerror(errno));
		is_int(rules_file_trusted(to_bad, me, &err), -EPERM,
		       "a symlink to a file in a 0777 dir is refused");
		msg = xasprintf("%s: directory %s is writable by group or others", to_bad, sub);
		is_str(err.msg, msg, "  naming that directory");
		free(msg);
	}
	chmod(sub, 01777);
	if (me == 0)
		is_int(rules_file_trusted(bad, me, &err), 0, "root's sticky 01777 dir passes");
	else
		is_int(rules_file_trusted(bad, me, &err), -EPERM, "sticky but not root's: refused");
	chmod(sub, 0700);
	{
		cleanup_free char *loop = in_dir("loop");

		if (symlink("loop", loop) < 0)
			printf("# symlink: %s\n", strerror(errno));
		is_int(rules_file_trusted(loop, me, &err), -ELOOP, "a symlink loop ends");
	}

	if (mkfifo(fifo, 0600) < 0)
		printf("# mkfifo: %s\n", strerror(errno));
	is_int(rules_file_trusted(fifo, me, &err), -EPERM, "a FIFO is refused");
	msg = xasprintf("%s: not a regular file", fifo);
	is_str(err.msg, msg, "  message");
	free(msg);
	is_int(rules_file_trusted(dir, me, &err), -EPERM, "a directory is refused");
	{
		cleanup_free char *missing = in_dir("missing");

		is_int(rules_file_trusted(missing, me, &err), -ENOENT, "a missing file: -ENOENT");
		msg = xasprintf("%s: %s: No such file or directory", missing, missing);
		is_str(err.msg, msg, "  message");
		free(msg);
	}
}

static void test_load_file(void)
{
	cleanup_free char *p = in_dir("load"), *fifo = in_dir("fifo"), *missing = in_dir("nope");
	char *msg;
	struct ruleset rs = RULESET_INIT;
	struct rules_error err;

	write_text(p, "# project rules\nallow connect pypi.org:443 files.pythonhosted.org:443\n",
		   0600);
	is_int(rules_load_file(&rs, p, &env, &err), 0, "rules_load_file");
	ok(rs.n == 2 && strcmp(rs.rules[1]->source, p) == 0 && rs.rules[1]->line == 2,
	   "  two rules, source and line kept");
	{
		cleanup_free char *o = rule_origin(rs.rules[1]);

		msg = xasprintf("%s:2", p);
		is_str(o, msg, "  rule_origin");
		free(msg);
	}
	write_text(p, "allow exec *\ndefer connect *\n", 0600);
	is_int(rules_load_file(&rs, p, &env, &err), -EINVAL, "a bad file is refused");
	msg = xasprintf("%s:2: defer is only valid for exec rules", p);
	is_str(err.msg, msg, "  file:line: message");
	free(msg);
	is_int(err.line, 2, "  err.line");
	is_int(rs.n, 2, "  nothing added");
	is_int(rules_load_file(&rs, missing, &env, &err), -ENOENT, "a missing file");
	msg = xasprintf("%s: No such file or directory", missing);
	is_str(err.msg, msg, "  message");
	free(msg);
	is_int(rules_load_file(&rs, fifo, &env, &err), -EINVAL, "a FIFO does not hang");
	msg = xasprintf("%s: not a regular file", fifo);
	is_str(err.msg, msg, "  message");
	free(msg);
	is_int(rules_load_file(&rs, dir, &env, &err), -EINVAL, "a directory is refused");
	rules_release(&rs);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_rules.XXXXXX");
	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	test_names();
	test_good_lines();
	test_bad_lines();
	test_no_env();
	test_long_lines();
	test_junk();
	test_expansion();
	test_quote();
	test_origin();
	test_match_exec();
	test_match_write();
	test_match_cached();
	test_match_connect();
	test_sockaddr();
	test_name_denied();
	test_name_reach();
	test_match_loopback();
	test_defaults();
	test_trust();
	test_load_file();
	chmod(dir, 0700);
	rm_rf(dir);
	return tap_done();
}
