/* SPDX-License-Identifier: MIT */
/*
 * The review's key table (ui/keys.h) and what comes from it: the key map, and the KEYS list of
 * airlock(1), which must be the one the table generates (`test_ui_keys --man` prints it); the
 * live prompt's keys likewise (`--prompt-man`).
 * Also the decision model of the review (ui/model.c): how one decision carries to others.
 */
#include "common/buf.h"
#include "common/path.h"
#include "tests/unit/tap.h"
#include "ui/keys.h"
#include "ui/ui.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define BEGIN_MARK ".\\\" keys: begin (generated from ui/keys.h: build/tests/test_ui_keys --man)\n"
#define END_MARK   ".\\\" keys: end\n"

static void test_man_page(void)
{
	const char *top = getenv("AIRLOCK_TOP");
	char *path = xasprintf("%s/man/airlock.1", top ? top : ".");
	char *man = read_file(path, 4 << 20, NULL);
	char *want = ui_keys_mdoc();
	const char *b = man ? strstr(man, BEGIN_MARK) : NULL;
	const char *e = b ? strstr(b, END_MARK) : NULL;
	char *got = NULL;

	ok(man != NULL, "the man page is readable (%s)", path);
	ok(b && e, "the man page marks where the KEYS list is");
	if (b && e) {
		b += strlen(BEGIN_MARK);
		got = xstrndup(b, (size_t)(e - b));
	}
	is_str(got, want, "the man page's KEYS list is the one ui/keys.h generates");
	free(got);
	free(want);
	free(man);
	free(path);
}

#define PROMPT_BEGIN                                                                               \
	".\\\" prompt keys: begin (from ui/keys.h: build/tests/test_ui_keys --prompt-man)\n"
#define PROMPT_END ".\\\" prompt keys: end\n"

static void test_prompt_man_page(void)
{
	const char *top = getenv("AIRLOCK_TOP");
	char *path = xasprintf("%s/man/airlock.1", top ? top : ".");
	char *man = read_file(path, 4 << 20, NULL);
	char *want = ui_prompt_keys_mdoc();
	const char *b = man ? strstr(man, PROMPT_BEGIN) : NULL;
	const char *e = b ? strstr(b, PROMPT_END) : NULL;
	char *got = NULL;
	size_t i, j;
	int dup = 0;

	ok(b && e, "the man page marks where the prompt's keys are");
	if (b && e) {
		b += strlen(PROMPT_BEGIN);
		got = xstrndup(b, (size_t)(e - b));
	}
	is_str(got, want, "the man page's prompt keys are the ones ui/keys.h lists");
	is_int(ui_prompt_request('A'), UI_PROMPT_ALLOW_PROGRAM,
	       "A allows the program, any arguments");
	is_int(ui_prompt_request(3), UI_PROMPT_INTERRUPT, "Ctrl-C is the prompt's");
	is_int(ui_prompt_request('x'), UI_PROMPT_NONE, "x means nothing at the prompt");
	for (i = 0; i < UI_PROMPT_COUNT - 1; i++)
		for (j = i + 1; j < UI_PROMPT_COUNT - 1; j++)
			dup += ui_prompt_keys[i].code == ui_prompt_keys[j].code;
	is_int(dup, 0, "one key, one answer at the prompt");
	free(got);
	free(want);
	free(man);
	free(path);
}

static void test_key_map(void)
{
	size_t i, j, k;
	int dup = 0;

	is_int(ui_key_request('j', UI_REVIEW), UI_REQ_DOWN, "j moves down in the review");
	is_int(ui_key_request(UI_KEY_DOWN, UI_REPLAY), UI_REQ_DOWN,
	       "Down moves down in the replay");
	is_int(ui_key_request('a', UI_REVIEW), UI_REQ_APPROVE, "a approves");
	is_int(ui_key_request('a', UI_REPLAY), UI_REQ_NONE, "a means nothing in the replay");
	is_int(ui_key_request('f', UI_REPLAY), UI_REQ_FILTER_CLASS, "f filters the replay");
	is_int(ui_key_request('f', UI_REVIEW), UI_REQ_FILTER, "f filters the review's changes");
	is_int(ui_key_request(UI_KEY_ESC, UI_REVIEW), UI_REQ_CLOSE, "Esc only closes");
	is_int(ui_key_request(']', UI_REVIEW), UI_REQ_NEXT_UNDECIDED,
	       "] goes to the next undecided");
	is_int(ui_key_request(UI_KEY_LEFT, UI_REVIEW), UI_REQ_FOLD, "Left folds");
	is_int(ui_key_request('l', UI_REVIEW), UI_REQ_UNFOLD, "l unfolds");
	is_int(ui_key_request(' ', UI_REVIEW), UI_REQ_TOGGLE, "space toggles");
	is_int(ui_key_request(' ', UI_REVIEW | UI_TEXT), UI_REQ_SCREEN_DOWN,
	       "space pages down in a diff");
	is_int(ui_key_request('b', UI_REPLAY | UI_TEXT), UI_REQ_SCREEN_UP, "b pages up in a diff");
	is_int(ui_key_request('b', UI_REVIEW), UI_REQ_NONE, "b means nothing in a list");
	is_int(ui_key_request('a', UI_REVIEW | UI_TEXT), UI_REQ_APPROVE, "a approves in a diff");
	is_int(ui_key_request('}', UI_REVIEW | UI_TEXT), UI_REQ_NEXT_HUNK,
	       "} goes to the next hunk");
	is_int(ui_key_request('q', UI_BOTH), UI_REQ_QUIT, "q quits");
	/* One key, one meaning, in each context. */
	for (i = 0; i < UI_REQ_COUNT - 1; i++)
		for (j = i + 1; j < UI_REQ_COUNT - 1; j++)
			for (k = 0; ui_keys[i].codes[k]; k++)
				for (size_t l = 0; ui_keys[j].codes[l]; l++)
					dup += ui_keys[i].codes[k] == ui_keys[j].codes[l] &&
					       (ui_keys[i].where & ui_keys[j].where & UI_BOTH) &&
					       !((ui_keys[i].where | ui_keys[j].where) & UI_TEXT &&
						 (ui_keys[i].where | ui_keys[j].where) & UI_LIST);
	is_int(dup, 0, "no key is bound twice in one context");
	for (i = 0; i < UI_REQ_COUNT - 1; i++)
		if (ui_keys[i].help[0] < 'a' || ui_keys[i].help[0] > 'z' ||
		    strchr(ui_keys[i].shown, '"'))
			break;
	is_int(i, UI_REQ_COUNT - 1, "help texts start lowercase; names hold no quote (mdoc)");
}

static struct ui_change change(const char *path, const char *kind, mode_t mode, enum ui_decision d)
{
	struct ui_change c = {.path = path, .kind = kind, .mode = mode, .decision = d};

	c.creates_dir = strcmp(kind, "dir-added") == 0;
	return c;
}

static void test_model(void)
{
	struct ui_change ch[] = {
		change("/p/new", "dir-added", S_IFDIR | 0755, UI_UNDECIDED),
		change("/p/new/deeper", "dir-added", S_IFDIR | 0755, UI_UNDECIDED),
		change("/p/new/deeper/f", "added", S_IFREG | 0644, UI_UNDECIDED),
		change("/p/new-x", "added", S_IFREG | 0644, UI_APPROVED),
		change("/p/old", "dir-replaced", S_IFDIR | 0755, UI_DENIED),
		change("/p/old/g", "added", S_IFREG | 0644, UI_UNDECIDED),
		change("/p/a.txt", "modified", S_IFREG | 0644, UI_APPROVED),
	};
	size_t w0[] = {2, 6}, w1[] = {3};
	struct ui_command cmds[] = {
		{.argv = "python3 a.py",
		 .ran = "allow",
		 .decision = UI_APPROVED,
		 .files = w0,
		 .nfiles = 2},
		{.argv = "curl x", .ran = "deny", .decision = UI_DENIED},
		{.argv = "sh -c x",
		 .ran = "allow",
		 .decision = UI_APPROVED,
		 .files = w1,
		 .nfiles = 1},
	};
	struct ui_review r = {.changes = ch, .nchanges = 7, .commands = cmds, .ncommands = 3};

	ui_review_prepare(&r);
	is_int(ch[2].parent, 1, "a file's parent is the nearest directory change above it");
	is_int(ch[1].parent, 0, "and a directory's");
	is_int(ch[3].parent, -1, "/p/new-x is not below /p/new");
	is_int(ch[5].parent, 4, "/p/old/g is below /p/old");
	is_int(ch[0].added, -1, "counts start uncounted");

	ui_set_change(&r, 2, UI_APPROVED, "you");
	is_int(ch[1].decision, UI_APPROVED, "approving a file approves the new directory it is in");
	is_int(ch[0].decision, UI_APPROVED, "and the new directories above that");
	ok(ch[0].set_by && strstr(ch[0].set_by, "needs"), "and says why");
	ui_set_change(&r, 5, UI_APPROVED, "you");
	is_int(ch[4].decision, UI_DENIED,
	       "a replaced directory is not approved behind the person's back");

	ui_set_change(&r, 0, UI_DENIED, "you");
	is_int(ch[1].decision, UI_DENIED, "denying a new directory denies what is below it");
	is_int(ch[2].decision, UI_DENIED, "all the way down");
	is_int(ch[3].decision, UI_APPROVED, "but not a sibling that shares a prefix");

	ok(ui_set_command(&r, 0, UI_DENIED), "a command that ran can be denied");
	is_int(ch[6].decision, UI_DENIED, "its changes are denied with it");
	is_str(ch[6].set_by, "its command", "and say why");
	ok(!ui_set_command(&r, 1, UI_APPROVED), "a command denied when it ran cannot be approved");
	is_int(cmds[1].decision, UI_DENIED, "it stays denied");
	cmds[2].done = "exit status 0";
	ok(!ui_set_command(&r, 2, UI_DENIED),
	   "a deferred command that ran already cannot be decided");
	is_int(cmds[2].decision, UI_APPROVED, "it keeps its state");
	is_int(ch[3].decision, UI_APPROVED, "and so do the changes it lists");
	cmds[2].step = 7;
	is_int(ui_set_step(&r, 7, UI_DENIED), 0, "nor by deciding its step");
	cmds[2].step = 0;
	cmds[2].done = NULL;
	ch[6].fixed = "inside a hidden path";
	ui_set_change(&r, 6, UI_APPROVED, "you");
	is_int(ch[6].decision, UI_DENIED, "a change the commit never applies cannot be approved");
	ch[6].fixed = NULL;
	ok(ui_set_command(&r, 2, UI_DENIED), "another command");
	is_int(ch[3].decision, UI_DENIED, "denies only its own changes");
	is_int(ch[5].decision, UI_APPROVED, "others keep theirs");
	ui_review_free(&r);
}

/* Hunk by hunk: the file's state follows its hunks; a whole decision replaces them. */
static void test_hunks(void)
{
	struct ui_change ch[] = {
		change("/p/dir", "dir-added", S_IFDIR | 0755, UI_UNDECIDED),
		change("/p/dir/f", "modified", S_IFREG | 0644, UI_APPROVED),
	};
	struct ui_review r = {.changes = ch, .nchanges = 2};

	ui_review_prepare(&r);
	ui_set_hunk(&r, 1, 3, 0, 'a');
	ok(ch[1].hunks == NULL && ch[1].decision == UI_APPROVED,
	   "approving a hunk of an approved file leaves it approved whole");
	ui_set_hunk(&r, 1, 3, 1, 'd');
	is_str(ch[1].hunks, "ada", "denying hunk 2: the others keep the file's decision");
	is_int(ch[1].decision, UI_APPROVED, "  the file is approved in part");
	is_int(ch[0].decision, UI_APPROVED, "  and the directory it needs is approved");
	ui_set_hunk(&r, 1, 3, 0, 'd');
	ui_set_hunk(&r, 1, 3, 2, 'd');
	ok(ch[1].hunks == NULL && ch[1].decision == UI_DENIED, "every hunk denied: denied whole");
	ui_set_change(&r, 1, UI_UNDECIDED, "you");
	ui_set_hunk(&r, 1, 2, 0, 'd');
	is_str(ch[1].hunks, "du", "an undecided file's other hunks stay undecided");
	is_int(ch[1].decision, UI_UNDECIDED, "  no hunk approved: undecided");
	ui_set_change(&r, 1, UI_APPROVED, "you");
	ok(ch[1].hunks == NULL, "a whole decision replaces the hunks'");
	ui_review_free(&r);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--man") == 0) {
		char *m = ui_keys_mdoc();

		fputs(BEGIN_MARK, stdout);
		fputs(m, stdout);
		fputs(END_MARK, stdout);
		free(m);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "--prompt-man") == 0) {
		char *m = ui_prompt_keys_mdoc();

		fputs(PROMPT_BEGIN, stdout);
		fputs(m, stdout);
		fputs(PROMPT_END, stdout);
		free(m);
		return 0;
	}
	test_key_map();
	test_model();
	test_hunks();
	test_man_page();
	test_prompt_man_page();
	return tap_done();
}
