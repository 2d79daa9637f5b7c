// Reading the records of a PyTorch zip archive (torch.save's format) with libtorch's own
// reader. Only the bytes: the pickle inside is interpreted on the Swift side (Torch's
// PickleReader), which admits tensors and plain containers and nothing else.
#include <caffe2/serialize/inline_container.h>
#include <sys/stat.h>
#include <cstring>
#include <memory>
#include "shim_internal.h"

struct ct_archive_s {
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  int64_t file_size;
};

extern "C" {

ct_archive ct_archive_open(const char *path) {
  CT_GUARD(nullptr, {
    if (path == nullptr) throw std::invalid_argument("null path");
    struct stat st;
    if (stat(path, &st) != 0) throw std::runtime_error(std::string("cannot read ") + path + ": " + strerror(errno));
    if (!S_ISREG(st.st_mode)) throw std::runtime_error(std::string(path) + " is not a regular file");
    auto archive = std::make_unique<ct_archive_s>();
    archive->file_size = static_cast<int64_t>(st.st_size);
    archive->reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(std::string(path));
    return archive.release();
  })
}

void ct_archive_free(ct_archive a) { delete a; }

int64_t ct_archive_names(ct_archive a, char *buffer, int64_t capacity) {
  CT_GUARD(-1, {
    if (a == nullptr) throw std::invalid_argument("null archive");
    std::string joined;
    for (const auto &name : a->reader->getAllRecords()) {
      if (!joined.empty()) joined += '\n';
      joined += name;
    }
    if (buffer != nullptr && capacity > static_cast<int64_t>(joined.size())) {
      std::memcpy(buffer, joined.c_str(), joined.size() + 1);
    }
    return static_cast<int64_t>(joined.size());
  })
}

int64_t ct_archive_record_size(ct_archive a, const char *name) {
  CT_GUARD(-1, {
    if (a == nullptr || name == nullptr) throw std::invalid_argument("null archive or name");
    if (!a->reader->hasRecord(name)) throw std::runtime_error(std::string("the archive has no record ") + name);
    auto size = static_cast<int64_t>(a->reader->getRecordSize(name));
    // torch.save stores records uncompressed: a record cannot be larger than its file.
    if (size > a->file_size) {
      throw std::runtime_error(std::string("record ") + name + " claims " + std::to_string(size) +
                               " bytes, more than the whole file (" + std::to_string(a->file_size) + ")");
    }
    return size;
  })
}

int64_t ct_archive_read(ct_archive a, const char *name, void *destination, int64_t capacity) { CT_REQUIRE(a, -1)
  CT_GUARD(-1, {
    int64_t size = ct_archive_record_size(a, name);
    if (size < 0) return -1;
    if (destination == nullptr || capacity < size) throw std::invalid_argument("buffer too small for the record");
    return static_cast<int64_t>(a->reader->getRecord(name, destination, static_cast<size_t>(size)));
  })
}

ct_tensor ct_as_strided_copy(ct_tensor t, const int64_t *size, const int64_t *stride, int ndim, int64_t offset) {
  CT_TENSOR({
    if (t == nullptr) throw std::invalid_argument("null tensor");
    return ctorch::wrap(at::as_strided(t->t, ctorch::dims(size, ndim), ctorch::dims(stride, ndim), offset).clone());
  })
}

}  // extern "C"
