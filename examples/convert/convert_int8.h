/* nn_convert's outputs for an int8 model file (convert_int8.c): ONNX in
 * QDQ form, or C (nn/quant.h's nn_qmodel_onnx_save, nn_qmodel_c_save). */
#ifndef NN_CONVERT_INT8_H
#define NN_CONVERT_INT8_H

/* 1 when in is an int8 model file and out a name it is written to (.onnx
 * or .c); the other outputs are refused by the fp32 loader's message. */
int convert_int8_handles(const char *in, const char *out);
/* Loads the int8 model in and writes out (.onnx, with flags as
 * nn_onnx_save's; or NAME.c), printing what C needs; returns nn_convert's
 * exit code (messages on stderr). */
int convert_int8(const char *in, const char *out, unsigned flags);

#endif /* NN_CONVERT_INT8_H */
