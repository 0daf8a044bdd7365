/* Images for predict: PNG, binary PGM and PPM files told apart by their
 * first bytes, then checked against a model's input or, when asked,
 * converted and resized to it. Not part of libnn. */
#ifndef NN_PREDICT_IMAGE_H
#define NN_PREDICT_IMAGE_H

#include <stddef.h>
#include <stdint.h>

/* An image as read: bytes (h, w, c) with c 1 (grey) or 3 (RGB). */
typedef struct {
    uint8_t *px;
    int w, h, c;
} image;

/* What --resize asks for. */
typedef enum {
    RESIZE_NONE,     /* the image must be the model's size and channels */
    RESIZE_BILINEAR, /* a triangle filter, widened when shrinking */
    RESIZE_NEAREST   /* the nearest source pixel */
} resize_mode;

/* Reads a PNG (nn_png_read), a binary PGM (P5) or PPM (P6) from a regular
 * file; 0 with msg naming the file and the problem. With want_w > 0, a PNG
 * whose header gives more pixels than want_w x want_h is refused before its
 * data is read. */
int image_read(const char *path, int want_w, int want_h, image *img,
               char *msg, size_t msg_size);
/* Frees the pixels. */
void image_free(image *img);
/* Fills planes (c, h, w), the model's input, from img. Without a resize
 * mode the image must already be c x h x w, else msg says both sizes
 * ("digit.png is 32x32 RGB; the model expects 28x28 grey"); with one, RGB
 * becomes grey by luminance (0.299 R + 0.587 G + 0.114 B), grey becomes RGB
 * by copying, then the image is resampled to w x h. 0 on failure. */
int image_fit(const image *img, const char *name, int c, int h, int w,
              resize_mode mode, uint8_t *planes, char *msg, size_t msg_size);

#endif
