#include "datastore/gzip.hpp"

#include <zlib.h>

namespace mf::datastore {

Result<std::string> gunzip(std::string_view compressed, std::size_t max_bytes) {
    if (compressed.size() < 2 || static_cast<unsigned char>(compressed[0]) != 0x1f ||
        static_cast<unsigned char>(compressed[1]) != 0x8b) {
        return Error::unprocessable("Not a gzipped file").with_id("BadGzipFile");
    }
    z_stream stream{};
    if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK) {
        return Error::internal("zlib could not start");
    }
    std::string out;
    char chunk[64 * 1024];
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
    stream.avail_in = static_cast<uInt>(compressed.size());
    Error failure =
        Error::unprocessable("Compressed file ended before the end-of-stream marker was reached")
            .with_id("EOFError");
    bool done = false;
    while (!done) {
        stream.next_out = reinterpret_cast<Bytef*>(chunk);
        stream.avail_out = sizeof chunk;
        int status = inflate(&stream, Z_NO_FLUSH);
        std::size_t produced = sizeof chunk - stream.avail_out;
        if (out.size() + produced > max_bytes) {
            failure = Error::unprocessable("the uncompressed object is larger than " +
                                           std::to_string(max_bytes) + " bytes")
                          .with_id("artifact-too-large");
            break;
        }
        out.append(chunk, produced);
        if (status == Z_STREAM_END) {
            // Another gzip member may follow, as `cat a.gz b.gz` makes.
            if (stream.avail_in == 0) {
                done = true;
            } else if (inflateReset(&stream) != Z_OK) {
                break;
            }
        } else if (status == Z_BUF_ERROR && stream.avail_in == 0) {
            break;  // truncated
        } else if (status != Z_OK) {
            failure = Error::unprocessable(stream.msg ? stream.msg : "invalid compressed data")
                          .with_id("BadGzipFile");
            break;
        }
    }
    inflateEnd(&stream);
    if (!done) return failure;
    return out;
}

}  // namespace mf::datastore
