/* Real multipliers as integers (the formulas of src/quant/qmodel.h). */
#include "quant/qmath.h"

#include <math.h>

nn_status nn_qmul_from_real(double m, nn_qmul *out)
{
    int e = 0;
    double f;
    int64_t q;
    if (!isfinite(m) || m <= 0.0)
        return NN_EINVAL;
    f = frexp(m, &e); /* m = f 2^e, f in [0.5, 1) */
    q = (int64_t)llround(f * 2147483648.0);
    if (q == (INT64_C(1) << 31)) { /* f rounded up to 1 */
        q = INT64_C(1) << 30;
        e++;
    }
    if (-e > 31) { /* below 2^-32: 2^-32 instead (|x m| <= 1/2) */
        out->mult = INT32_C(1) << 30;
        out->shift = 31;
        return NN_OK;
    }
    if (-e < -31)
        return NN_EINVAL;
    out->mult = (int32_t)q;
    out->shift = -e;
    return NN_OK;
}

double nn_qmul_to_real(nn_qmul m)
{
    return ldexp((double)m.mult, -31 - m.shift);
}

int nn_qmul_valid(nn_qmul m)
{
    return m.mult >= (INT32_C(1) << 30) && m.shift >= -31 && m.shift <= 31;
}
