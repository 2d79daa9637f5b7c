/* codecs.c — see include/cdatacodecs.h. Written for the lacoot project's Data target. */
#include "cdatacodecs.h"

#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>
#include <zlib.h>

static void set_err(char *err, size_t errlen, const char *msg) {
  if (err && errlen > 0) {
    snprintf(err, errlen, "%s", msg ? msg : "unknown error");
  }
}

void cdc_free(void *p) { free(p); }

/* ---------------------------------------------------------------- gzip / zlib ---- */

int cdc_gunzip(const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen,
               size_t *offset, char *err, size_t errlen) {
  return cdc_inflate_limited(in, inlen, SIZE_MAX, out, outlen, offset, err, errlen);
}

int cdc_inflate_limited(const uint8_t *in, size_t inlen, size_t maxout, uint8_t **out,
                        size_t *outlen, size_t *offset, char *err, size_t errlen) {
  *out = NULL;
  *outlen = 0;
  *offset = 0;
  /* Size hint: a single-member gzip stores the uncompressed size mod 2^32 in its last 4 bytes. */
  size_t cap = inlen * 4 + 1024;
  if (inlen >= 18 && in[0] == 0x1f && in[1] == 0x8b) {
    uint32_t isize = (uint32_t)in[inlen - 4] | ((uint32_t)in[inlen - 3] << 8) |
                     ((uint32_t)in[inlen - 2] << 16) | ((uint32_t)in[inlen - 1] << 24);
    if ((size_t)isize + 1 > cap / 8 && (size_t)isize < ((size_t)1 << 32)) cap = (size_t)isize + 1;
  }
  /* One byte past the limit is room enough to notice a stream that goes beyond it. */
  size_t hardcap = maxout == SIZE_MAX ? SIZE_MAX : maxout + 1;
  if (cap > hardcap) cap = hardcap;
  uint8_t *buf = malloc(cap);
  if (!buf) { set_err(err, errlen, "out of memory"); return CDC_ERR_MEMORY; }
  size_t used = 0;
  size_t pos = 0;
  int members = 0;
  while (pos < inlen) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 32) != Z_OK) { /* 15 + 32: detect gzip or zlib header */
      free(buf);
      set_err(err, errlen, "zlib initialisation failed");
      return CDC_ERR_MEMORY;
    }
    int rc = Z_OK;
    for (;;) {
      if (used == cap) {
        if (cap >= hardcap) {
          char msg[96];
          snprintf(msg, sizeof msg, "the stream inflates to more than %zu bytes", maxout);
          *offset = pos;
          inflateEnd(&zs); free(buf);
          set_err(err, errlen, msg);
          return CDC_ERR_CORRUPT;
        }
        size_t ncap = cap > hardcap / 2 ? hardcap : cap * 2;
        uint8_t *nbuf = realloc(buf, ncap);
        if (!nbuf) {
          inflateEnd(&zs); free(buf);
          set_err(err, errlen, "out of memory");
          return CDC_ERR_MEMORY;
        }
        buf = nbuf; cap = ncap;
      }
      size_t availIn = inlen - pos;
      size_t chunkIn = availIn > (1u << 30) ? (1u << 30) : availIn;
      size_t chunkOut = (cap - used) > (1u << 30) ? (1u << 30) : (cap - used);
      zs.next_in = (Bytef *)(in + pos);
      zs.avail_in = (uInt)chunkIn;
      zs.next_out = buf + used;
      zs.avail_out = (uInt)chunkOut;
      rc = inflate(&zs, Z_NO_FLUSH);
      pos += chunkIn - zs.avail_in;
      used += chunkOut - zs.avail_out;
      if (rc == Z_STREAM_END) break;
      if (rc == Z_OK) continue;
      if (rc == Z_BUF_ERROR && zs.avail_out == 0) continue; /* needs more room */
      /* Z_BUF_ERROR with input exhausted: the stream ends early. */
      *offset = pos;
      if (rc == Z_BUF_ERROR || (rc == Z_OK && pos >= inlen)) {
        inflateEnd(&zs); free(buf);
        set_err(err, errlen, "compressed stream ends early");
        return CDC_ERR_TRUNCATED;
      }
      {
        char msg[160];
        snprintf(msg, sizeof msg, "corrupt compressed data (%s)", zs.msg ? zs.msg : "zlib error");
        inflateEnd(&zs); free(buf);
        set_err(err, errlen, msg);
        return CDC_ERR_CORRUPT;
      }
    }
    inflateEnd(&zs);
    members++;
    /* Another gzip member may follow; anything else (e.g. zero padding) ends the data. */
    if (!(inlen - pos >= 2 && in[pos] == 0x1f && in[pos + 1] == 0x8b)) break;
  }
  (void)members;
  *out = buf;
  *outlen = used;
  *offset = pos;
  return CDC_OK;
}

int cdc_gzip(const uint8_t *in, size_t inlen, int level, uint8_t **out, size_t *outlen,
             char *err, size_t errlen) {
  *out = NULL;
  *outlen = 0;
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    set_err(err, errlen, "zlib initialisation failed");
    return CDC_ERR_MEMORY;
  }
  if (inlen > (1u << 30)) { deflateEnd(&zs); set_err(err, errlen, "input too large"); return CDC_ERR_UNSUPPORTED; }
  size_t cap = deflateBound(&zs, (uLong)inlen) + 32;
  uint8_t *buf = malloc(cap);
  if (!buf) { deflateEnd(&zs); set_err(err, errlen, "out of memory"); return CDC_ERR_MEMORY; }
  zs.next_in = (Bytef *)in;
  zs.avail_in = (uInt)inlen;
  zs.next_out = buf;
  zs.avail_out = (uInt)cap;
  int rc = deflate(&zs, Z_FINISH);
  size_t produced = cap - zs.avail_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) { free(buf); set_err(err, errlen, "deflate failed"); return CDC_ERR_CORRUPT; }
  *out = buf;
  *outlen = produced;
  return CDC_OK;
}

/* ------------------------------------------------------------------------- PNG ---- */

int cdc_decode_png(const uint8_t *in, size_t inlen, int channels, size_t max_pixels, uint8_t **out,
                   int *width, int *height, char *err, size_t errlen) {
  *out = NULL;
  *width = 0;
  *height = 0;
  if (channels != 1 && channels != 3) { set_err(err, errlen, "channels must be 1 or 3"); return CDC_ERR_UNSUPPORTED; }
  png_image image;
  memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&image, in, inlen)) {
    set_err(err, errlen, image.message[0] ? image.message : "not a PNG");
    png_image_free(&image);
    return CDC_ERR_CORRUPT;
  }
  image.format = channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
  /* A 16-bit file without gAMA/sRGB holds sRGB-encoded values, as every viewer and PIL read
   * it (v / 257); libpng would otherwise take them as linear and gamma-encode them. */
  image.flags |= PNG_IMAGE_FLAG_16BIT_sRGB;
  if ((size_t)image.width * (size_t)image.height > max_pixels) {
    *width = (int)(image.width > INT32_MAX ? INT32_MAX : image.width);
    *height = (int)(image.height > INT32_MAX ? INT32_MAX : image.height);
    png_image_free(&image);
    set_err(err, errlen, "the header promises more pixels than the limit");
    return CDC_ERR_TOO_LARGE;
  }
  size_t stride = (size_t)image.width * (size_t)channels;
  size_t size = stride * (size_t)image.height;
  if (image.width == 0 || image.height == 0 || size / stride != image.height) {
    png_image_free(&image);
    set_err(err, errlen, "invalid image dimensions");
    return CDC_ERR_CORRUPT;
  }
  uint8_t *buf = calloc(size, 1); /* zeros: alpha is composited onto black */
  if (!buf) { png_image_free(&image); set_err(err, errlen, "out of memory"); return CDC_ERR_MEMORY; }
  if (!png_image_finish_read(&image, NULL, buf, (png_int_32)stride, NULL)) {
    set_err(err, errlen, image.message[0] ? image.message : "PNG decoding failed");
    png_image_free(&image);
    free(buf);
    return CDC_ERR_CORRUPT;
  }
  *width = (int)image.width;
  *height = (int)image.height;
  *out = buf;
  png_image_free(&image);
  return CDC_OK;
}

int cdc_encode_png(const uint8_t *pixels, int width, int height, int channels,
                   uint8_t **out, size_t *outlen, char *err, size_t errlen) {
  *out = NULL;
  *outlen = 0;
  if ((channels != 1 && channels != 3) || width <= 0 || height <= 0) {
    set_err(err, errlen, "invalid image shape"); return CDC_ERR_UNSUPPORTED;
  }
  png_image image;
  memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  image.width = (png_uint_32)width;
  image.height = (png_uint_32)height;
  image.format = channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
  png_int_32 stride = (png_int_32)(width * channels);
  png_alloc_size_t size = 0;
  if (!png_image_write_to_memory(&image, NULL, &size, 0, pixels, stride, NULL)) {
    set_err(err, errlen, image.message[0] ? image.message : "PNG encoding failed");
    png_image_free(&image);
    return CDC_ERR_CORRUPT;
  }
  uint8_t *buf = malloc(size);
  if (!buf) { png_image_free(&image); set_err(err, errlen, "out of memory"); return CDC_ERR_MEMORY; }
  if (!png_image_write_to_memory(&image, buf, &size, 0, pixels, stride, NULL)) {
    set_err(err, errlen, image.message[0] ? image.message : "PNG encoding failed");
    png_image_free(&image);
    free(buf);
    return CDC_ERR_CORRUPT;
  }
  png_image_free(&image);
  *out = buf;
  *outlen = size;
  return CDC_OK;
}

/* ------------------------------------------------------------------------ JPEG ---- */

/* libjpeg's default error_exit prints and calls exit(); ours records the message and
 * jumps back to the caller instead. */
struct cdc_jpeg_error {
  struct jpeg_error_mgr pub;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  int premature_end; /* libjpeg met the end of the data before the image was complete */
};

static void cdc_jpeg_error_exit(j_common_ptr cinfo) {
  struct cdc_jpeg_error *e = (struct cdc_jpeg_error *)cinfo->err;
  (*cinfo->err->format_message)(cinfo, e->message);
  longjmp(e->jump, 1);
}

static void cdc_jpeg_output_message(j_common_ptr cinfo) { (void)cinfo; /* no printing */ }

static void cdc_jpeg_emit_message(j_common_ptr cinfo, int level) {
  struct cdc_jpeg_error *e = (struct cdc_jpeg_error *)cinfo->err;
  if (level < 0) {
    cinfo->err->num_warnings++;
    if (cinfo->err->msg_code == JWRN_JPEG_EOF) e->premature_end = 1;
  }
}

/* CMYK pixels (4 bytes each) to RGB or gray in place, as PIL's convert("RGB") / ("L") does:
 * an Adobe marker means the values are stored inverted (Photoshop's and libjpeg's writers). */
static void cdc_cmyk_to_rgb_or_gray(uint8_t *px, size_t count, int channels, int adobe_inverted) {
  for (size_t i = 0; i < count; i++) {
    const uint8_t *in = px + 4 * i;
    unsigned ink[4], rgb[3];
    for (int c = 0; c < 4; c++) ink[c] = adobe_inverted ? 255u - in[c] : in[c];
    unsigned nk = 255u - ink[3];
    for (int c = 0; c < 3; c++) {
      unsigned t = ink[c] * nk + 128u;
      unsigned m = ((t >> 8) + t) >> 8;  /* ink * nk / 255, rounded */
      rgb[c] = nk > m ? nk - m : 0u;
    }
    uint8_t *o = px + (size_t)channels * i;  /* never ahead of the pixel being read */
    if (channels == 3) { o[0] = (uint8_t)rgb[0]; o[1] = (uint8_t)rgb[1]; o[2] = (uint8_t)rgb[2]; }
    else o[0] = (uint8_t)((rgb[0] * 19595u + rgb[1] * 38470u + rgb[2] * 7471u + 0x8000u) >> 16);
  }
}

int cdc_decode_jpeg(const uint8_t *in, size_t inlen, int channels, size_t max_pixels, uint8_t **out,
                    int *width, int *height, char *err, size_t errlen) {
  *out = NULL;
  *width = 0;
  *height = 0;
  if (channels != 1 && channels != 3) { set_err(err, errlen, "channels must be 1 or 3"); return CDC_ERR_UNSUPPORTED; }
  if (inlen == 0) { set_err(err, errlen, "empty file"); return CDC_ERR_CORRUPT; }
  struct jpeg_decompress_struct cinfo;
  struct cdc_jpeg_error jerr;
  /* volatile: modified between setjmp and longjmp */
  uint8_t *volatile buf = NULL;
  memset(&cinfo, 0, sizeof cinfo);
  memset(&jerr, 0, sizeof jerr);
  cinfo.err = jpeg_std_error(&jerr.pub);
  jerr.pub.error_exit = cdc_jpeg_error_exit;
  jerr.pub.output_message = cdc_jpeg_output_message;
  jerr.pub.emit_message = cdc_jpeg_emit_message;
  if (setjmp(jerr.jump)) {
    set_err(err, errlen, jerr.message);
    jpeg_destroy_decompress(&cinfo);
    free(buf);
    return CDC_ERR_CORRUPT;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, in, (unsigned long)inlen);
  jpeg_read_header(&cinfo, TRUE);
  if ((size_t)cinfo.image_width * (size_t)cinfo.image_height > max_pixels) {
    *width = (int)cinfo.image_width;
    *height = (int)cinfo.image_height;
    set_err(err, errlen, "the header promises more pixels than the limit");
    jpeg_destroy_decompress(&cinfo);
    return CDC_ERR_TOO_LARGE;
  }
  int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  cinfo.out_color_space = cmyk ? JCS_CMYK : (channels == 1 ? JCS_GRAYSCALE : JCS_RGB);
  jpeg_start_decompress(&cinfo);
  size_t stride = (size_t)cinfo.output_width * (size_t)cinfo.output_components;
  size_t size = stride * (size_t)cinfo.output_height;
  if (cinfo.output_components != (cmyk ? 4 : channels) || size == 0) {
    set_err(err, errlen, "unexpected JPEG output format");
    jpeg_destroy_decompress(&cinfo);
    return CDC_ERR_UNSUPPORTED;
  }
  buf = malloc(size);
  if (!buf) { jpeg_destroy_decompress(&cinfo); set_err(err, errlen, "out of memory"); return CDC_ERR_MEMORY; }
  /* A truncated file makes libjpeg warn and pad with gray; treat that as a failure so a
   * damaged image is reported instead of silently trained on. Other warnings (e.g. stray
   * bytes between markers, common in real photo collections) are tolerated. */
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = (JSAMPROW)(buf + (size_t)cinfo.output_scanline * stride);
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  if (jerr.premature_end) {
    set_err(err, errlen, "JPEG data ends before the image is complete");
    jpeg_destroy_decompress(&cinfo);
    free(buf);
    return CDC_ERR_TRUNCATED;
  }
  if (cmyk) cdc_cmyk_to_rgb_or_gray(buf, (size_t)cinfo.output_width * cinfo.output_height, channels,
                                    cinfo.saw_Adobe_marker);
  jpeg_finish_decompress(&cinfo);
  *width = (int)cinfo.output_width;
  *height = (int)cinfo.output_height;
  jpeg_destroy_decompress(&cinfo);
  *out = buf;
  return CDC_OK;
}

int cdc_encode_jpeg(const uint8_t *pixels, int width, int height, int channels, int quality,
                    uint8_t **out, size_t *outlen, char *err, size_t errlen) {
  *out = NULL;
  *outlen = 0;
  if ((channels != 1 && channels != 3) || width <= 0 || height <= 0) {
    set_err(err, errlen, "invalid image shape"); return CDC_ERR_UNSUPPORTED;
  }
  struct jpeg_compress_struct cinfo;
  struct cdc_jpeg_error jerr;
  unsigned char *volatile mem = NULL;
  unsigned long memlen = 0;
  memset(&cinfo, 0, sizeof cinfo);
  memset(&jerr, 0, sizeof jerr);
  cinfo.err = jpeg_std_error(&jerr.pub);
  jerr.pub.error_exit = cdc_jpeg_error_exit;
  jerr.pub.output_message = cdc_jpeg_output_message;
  if (setjmp(jerr.jump)) {
    set_err(err, errlen, jerr.message);
    jpeg_destroy_compress(&cinfo);
    free(mem);
    return CDC_ERR_CORRUPT;
  }
  jpeg_create_compress(&cinfo);
  jpeg_mem_dest(&cinfo, (unsigned char **)&mem, &memlen);
  cinfo.image_width = (JDIMENSION)width;
  cinfo.image_height = (JDIMENSION)height;
  cinfo.input_components = channels;
  cinfo.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality < 1 ? 1 : (quality > 100 ? 100 : quality), TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  size_t stride = (size_t)width * (size_t)channels;
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = (JSAMPROW)(pixels + (size_t)cinfo.next_scanline * stride);
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  *out = mem;
  *outlen = (size_t)memlen;
  return CDC_OK;
}
