/* The compiled model's side of test_compile_c.sh, built with the generated
 * net.c of an fp32 or an int8 model:  compile_c_driver INPUTS N OUTPUTS
 * writes per sample net_logits, then net_predict's probabilities (raw
 * floats), for N samples of INPUTS (raw floats, NET_IN_FLOATS each). An
 * int8 model's header sizes its working memory in bytes (NET_WORK_BYTES),
 * an fp32 one's in floats. */
#include <stdio.h>
#include <stdlib.h>

#include "net.h"

int main(int argc, char **argv)
{
    static float in[NET_IN_FLOATS], out[2 * NET_CLASSES];
#ifdef NET_WORK_BYTES
    static unsigned char work[NET_WORK_BYTES + 1];
#else
    static float work[NET_WORK_FLOATS + 1]; /* never 0 floats */
#endif
    static const float mean[3] = NET_INPUT_MEAN, std[3] = NET_INPUT_STD;
    FILE *f, *g;
    int n, ok = 1;
    if (argc != 4) {
        fprintf(stderr, "usage: compile_c_driver INPUTS N OUTPUTS\n");
        return 2;
    }
    n = atoi(argv[2]);
    if (!(mean[0] >= 0.0f && std[0] > 0.0f)) /* the macros are floats */
        return 3;
    f = fopen(argv[1], "rb");
    g = fopen(argv[3], "wb");
    for (int s = 0; ok && f && g && s < n; s++) {
        ok = fread(in, sizeof in, 1, f) == 1;
        net_logits(in, out, work);
        net_predict(in, out + NET_CLASSES, work);
        ok = ok && fwrite(out, sizeof out, 1, g) == 1;
    }
    ok = ok && f && g;
    if (f)
        fclose(f);
    if (g && fclose(g) != 0)
        ok = 0;
    if (!ok)
        fprintf(stderr, "compile_c_driver: cannot read %s or write %s\n",
                argv[1], argv[3]);
    return ok ? 0 : 1;
}
