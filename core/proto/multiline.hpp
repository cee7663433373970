// The streaming decoder of POP3 multi-line response bodies (RFC 1939 §3): the lines after the
// +OK line up to the "." line. One leading '.' is removed from each stuffed line; every line is
// handed out ending in CRLF (a bare LF also ends a line and is handed out as CRLF; any other CR
// stays as it is); NUL and every other byte pass through. Fed with the bytes as they arrive, in
// spans of any size (a line may be split anywhere), it hands out the data as spans of its input
// wherever it can (one span per run of unchanged bytes), so a whole message never needs a copy
// of its own: memory is flat in the message size.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace upopmail::proto {

class MultilineDecoder {
public:
    // Decodes n bytes at p, calling out(const char *data, size_t len) (len > 0) for the decoded
    // data in order. Returns the bytes consumed: n, or fewer when the terminating "." line ended
    // inside them (done() is then true and the rest belongs to the next response).
    template <class Out> size_t feed(const char *p, size_t n, Out &&out);
    // The "." line was seen.
    bool done() const { return state_ == State::Done; }
    // Bytes of the current (unfinished) line so far, for a line-length bound.
    uint64_t line_length() const { return line_; }
    // Decoded bytes handed out so far.
    uint64_t decoded() const { return decoded_; }

private:
    enum class State { LineStart, Dot, DotCr, Mid, Done };
    State state_ = State::LineStart;
    bool cr_ = false;      // the last byte of the current line handed out is a CR
    uint64_t line_ = 0;    // bytes of the current line
    uint64_t decoded_ = 0; // bytes handed out
};

template <class Out> size_t MultilineDecoder::feed(const char *p, size_t n, Out &&out)
{
    const char *s = p;
    const char *const e = p + n;
    const char *run = nullptr; // start of the pending run of input handed out unchanged
    auto emit = [&](const char *d, size_t len) {
        decoded_ += len;
        out(d, len);
    };
    auto flush = [&](const char *upto) {
        if (run && upto > run) emit(run, static_cast<size_t>(upto - run));
        run = nullptr;
    };
    while (s < e) {
        switch (state_) {
        case State::LineStart:
            line_ = 0;
            cr_ = false;
            if (*s == '.') {
                flush(s);
                ++s;
                ++line_;
                state_ = State::Dot;
            } else {
                state_ = State::Mid;
            }
            break;
        case State::Dot:
            if (*s == '\n') {
                state_ = State::Done;
                return static_cast<size_t>(s + 1 - p);
            }
            if (*s == '\r') {
                ++s;
                ++line_;
                state_ = State::DotCr;
            } else {
                state_ = State::Mid; // a stuffed line: its first '.' is dropped
            }
            break;
        case State::DotCr:
            if (*s == '\n') {
                state_ = State::Done;
                return static_cast<size_t>(s + 1 - p);
            }
            emit("\r", 1); // ".\rX": a stuffed line that begins with a bare CR
            cr_ = true;
            state_ = State::Mid;
            break;
        case State::Mid: {
            if (!run) run = s;
            const char *lf = static_cast<const char *>(std::memchr(s, '\n', static_cast<size_t>(e - s)));
            if (!lf) {
                line_ += static_cast<uint64_t>(e - s);
                cr_ = e[-1] == '\r';
                s = e;
                break;
            }
            line_ += static_cast<uint64_t>(lf - s);
            bool had_cr = lf > s ? lf[-1] == '\r' : cr_;
            if (had_cr) {
                s = lf + 1; // CRLF: handed out as it is, in the run
            } else {
                flush(lf); // a bare LF: CRLF instead
                emit("\r\n", 2);
                s = lf + 1;
            }
            state_ = State::LineStart;
            break;
        }
        case State::Done: flush(s); return static_cast<size_t>(s - p);
        }
    }
    flush(e);
    return n;
}

} // namespace upopmail::proto
