/* cdatacodecs.h — small, crash-free C wrappers over zlib, libpng and libjpeg(-turbo) for the
 * Data target.
 *
 * Every function returns 0 on success and a negative code on failure, with a one-line reason
 * written into `err` (NUL-terminated, at most `errlen` bytes). No function aborts or exits:
 * libjpeg's fatal errors are caught with setjmp/longjmp in a private error manager, and
 * libpng is used through its "simplified" png_image API, which catches its own errors.
 * Buffers returned through `out` are allocated with malloc and must be released with
 * `cdc_free`.
 */
#ifndef CDATACODECS_H
#define CDATACODECS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
  CDC_OK = 0,
  CDC_ERR_TRUNCATED = -1, /* the stream ends early; *offset = compressed bytes consumed */
  CDC_ERR_CORRUPT = -2,   /* the stream is not valid; *offset = where it was noticed */
  CDC_ERR_MEMORY = -3,
  CDC_ERR_UNSUPPORTED = -4,
  CDC_ERR_TOO_LARGE = -5  /* an image header promises more pixels than allowed */
};

void cdc_free(void *p);

/* Inflates a gzip (possibly multi-member) or zlib stream held in memory. */
int cdc_gunzip(const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen,
               size_t *offset, char *err, size_t errlen);

/* Like cdc_gunzip, but fails (CDC_ERR_CORRUPT) once the output would exceed `maxout` bytes,
 * so a small stream cannot make the caller allocate gigabytes. */
int cdc_inflate_limited(const uint8_t *in, size_t inlen, size_t maxout, uint8_t **out,
                        size_t *outlen, size_t *offset, char *err, size_t errlen);

/* Compresses bytes into a single-member gzip stream (used to write test fixtures). */
int cdc_gzip(const uint8_t *in, size_t inlen, int level, uint8_t **out, size_t *outlen,
             char *err, size_t errlen);

/* Decodes a PNG or JPEG image held in memory into interleaved 8-bit pixels (HWC) with
 * `channels` = 1 (gray) or 3 (RGB) channels, converting as needed (alpha is composited
 * onto black for PNG). An image whose header promises more than `max_pixels` pixels is
 * refused (CDC_ERR_TOO_LARGE) before anything is allocated; *width and *height then hold
 * the promised size. */
int cdc_decode_png(const uint8_t *in, size_t inlen, int channels, size_t max_pixels, uint8_t **out,
                   int *width, int *height, char *err, size_t errlen);
int cdc_decode_jpeg(const uint8_t *in, size_t inlen, int channels, size_t max_pixels, uint8_t **out,
                    int *width, int *height, char *err, size_t errlen);

/* Encodes interleaved 8-bit pixels (HWC, 1 or 3 channels). */
int cdc_encode_png(const uint8_t *pixels, int width, int height, int channels,
                   uint8_t **out, size_t *outlen, char *err, size_t errlen);
int cdc_encode_jpeg(const uint8_t *pixels, int width, int height, int channels, int quality,
                    uint8_t **out, size_t *outlen, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
