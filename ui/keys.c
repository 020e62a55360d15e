/* SPDX-License-Identifier: MIT */
/* The key table of the review and replay, and what is made from it; see keys.h. */
#include "ui/keys.h"

#include "common/buf.h"

#include <stddef.h>

const struct ui_key ui_keys[] = {
#define UI_KEY_ROW(name, where_, shown_, hint_, help_, ...)                                        \
	{.req = UI_REQ_##name,                                                                     \
	 .where = where_,                                                                          \
	 .shown = shown_,                                                                          \
	 .hint = hint_,                                                                            \
	 .help = help_,                                                                            \
	 .codes = {__VA_ARGS__, 0}},
	UI_KEY_TABLE(UI_KEY_ROW)
#undef UI_KEY_ROW
};

enum ui_req ui_key_request(int code, int where)
{
	size_t i, j;

	for (i = 0; i < UI_REQ_COUNT - 1; i++) {
		int w = ui_keys[i].where;

		/* Some keys mean one thing in a text view, another in a list (Space). */
		if (!(w & where & UI_BOTH) || ((w & UI_TEXT) && !(where & UI_TEXT)) ||
		    ((w & UI_LIST) && (where & UI_TEXT)))
			continue;
		for (j = 0; ui_keys[i].codes[j]; j++)
			if (ui_keys[i].codes[j] == code)
				return ui_keys[i].req;
	}
	return UI_REQ_NONE;
}

char *ui_keys_mdoc(void)
{
	static const char *const where[] = {"", " (review)", " (replay)", ""};
	struct buf b = BUF_INIT;
	size_t i;

	buf_init(&b);
	buf_adds(&b, ".Bl -tag -width \"PgDn, Ctrl-F\" -compact\n");
	for (i = 0; i < UI_REQ_COUNT - 1; i++)
		buf_addf(&b, ".It Sy \"\\&%s\"\n%c%s%s.\n", ui_keys[i].shown,
			 ui_keys[i].help[0] - 'a' + 'A', ui_keys[i].help + 1,
			 where[ui_keys[i].where & 3]);
	buf_adds(&b, ".El\n");
	return buf_detach(&b);
}

const struct ui_prompt_key ui_prompt_keys[] = {
#define UI_PROMPT_ROW(name, shown_, code_, label_, help_)                                          \
	{.req = UI_PROMPT_##name, .shown = shown_, .code = code_, .label = label_, .help = help_},
	UI_PROMPT_KEY_TABLE(UI_PROMPT_ROW)
#undef UI_PROMPT_ROW
};

enum ui_prompt_req ui_prompt_request(int code)
{
	size_t i;

	for (i = 0; i < UI_PROMPT_COUNT - 1; i++)
		if (ui_prompt_keys[i].code == code)
			return ui_prompt_keys[i].req;
	return UI_PROMPT_NONE;
}

char *ui_prompt_keys_mdoc(void)
{
	struct buf b = BUF_INIT;
	size_t i;

	buf_init(&b);
	buf_adds(&b, ".Bl -tag -width Ds -compact\n");
	for (i = 0; i < UI_PROMPT_COUNT - 1; i++)
		buf_addf(&b, ".It Ic %s\n%s\n", ui_prompt_keys[i].shown, ui_prompt_keys[i].help);
	buf_adds(&b, ".El\n");
	return buf_detach(&b);
}
