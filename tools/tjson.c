/* JSON output of the offline tools: strings, a site's stack, a root. */
#include "tool_common.h"

static void json_str(FILE *f, const char *s, bool html)
{
  fputc('"', f);
  for (; s && *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
    else if (c < 0x20 || (html && (c == '<' || c == '>' || c == '&'))) fprintf(f, "\\u%04x", c);
    else fputc(c, f);
  }
  fputc('"', f);
}

void tjson_str(FILE *f, const char *s) { json_str(f, s, false); }

void tjson_str_html(FILE *f, const char *s) { json_str(f, s, true); }

void tjson_frames(FILE *f, struct tsite *s)
{
  fputc('[', f);
  for (size_t i = 0; s && i < s->nframes; i++) {
    struct tframe *fr = &s->frames[i];
    tframe_symbolize(fr);
    fputs(i ? ",{\"function\":" : "{\"function\":", f);
    tjson_str(f, fr->function ? fr->function : "");
    fputs(",\"file\":", f);
    tjson_str(f, fr->file ? fr->file : "");
    fprintf(f, ",\"line\":%d,\"module\":", fr->line);
    tjson_str(f, fr->module ? fr->module : "?");
    fprintf(f, ",\"offset\":\"0x%llx\"}", fr->offset);
  }
  fputc(']', f);
}

void tjson_root(FILE *f, const struct troot *r)
{
  fputs("{\"kind\":", f);
  tjson_str(f, r->kind);
  fputs(",\"name\":", f);
  tjson_str(f, r->name);
  fputs(",\"module\":", f);
  if (r->module) tjson_str(f, r->module);
  else fputs("null", f);
  if (r->thread) fprintf(f, ",\"thread\":%lld", r->thread);
  else fputs(",\"thread\":null", f);
  fputc('}', f);
}
