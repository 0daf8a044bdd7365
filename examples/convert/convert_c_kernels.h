/* The C text of the kernels a compiled model calls (convert_c.c), each the
 * same arithmetic in the same float order as libnn's layer, but for the
 * sums of convolutions and dense layers (one plain loop here). Not part
 * of libnn. */
#ifndef NN_CONVERT_C_KERNELS_H
#define NN_CONVERT_C_KERNELS_H

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
} convert_c_kernel;

/* The definition of kernel k (a static function), with its comment. */
const char *convert_c_kernel_text(convert_c_kernel k);

#endif /* NN_CONVERT_C_KERNELS_H */
