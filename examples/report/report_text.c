/* Paths and escaped text, which every file of the report uses (see
 * report_internal.h). */
#include "report_internal.h"

int report_join_path(char *path, const char *dir, const char *name)
{
    int n = snprintf(path, PATH_SIZE, "%s/%s", dir, name);
    return n > 0 && n < PATH_SIZE;
}

void report_xml_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default:
            if ((unsigned char)*s >= 0x20)
                fputc(*s, f);
        }
    }
}
