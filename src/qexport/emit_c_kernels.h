/* The C text of the kernels a compiled model calls (emit_c.c), each the
 * same arithmetic in the same float order as libnn's layer, but for the
 * sums of convolutions and dense layers (one plain loop here).
 */
#ifndef NN_QEXPORT_EMIT_C_KERNELS_H
#define NN_QEXPORT_EMIT_C_KERNELS_H

/* The kernels, in the order they are written out. */
typedef enum {
    KERNEL_CONV2D,
    KERNEL_DENSE,
    KERNEL_POOL_SPAN,
    KERNEL_MAXPOOL,
    KERNEL_AVGPOOL,
    KERNEL_GLOBAL_AVGPOOL,
    KERNEL_BATCHNORM,
    KERNEL_RELU,
    KERNEL_LEAKYRELU,
    KERNEL_SIGMOID,
    KERNEL_TANH,
    KERNEL_COPY,
    KERNEL_SOFTMAX,
    KERNEL_COUNT
} emit_c_kernel;

/* The definition of kernel k (a static function), with its comment. */
const char *nn_emit_c_kernel_text(emit_c_kernel k);

#endif /* NN_QEXPORT_EMIT_C_KERNELS_H */
