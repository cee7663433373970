// The NTLM CHALLENGE_MESSAGE parser of the AUTH NTLM driver: every descriptor and AV_PAIR is
// bounds-checked, so any bytes give a parse or an error sentence, never a read past the input.
#include <cstdint>
#include <cstring>
#include <vector>

extern "C" {
#include "ntlm_crypto.h"
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    std::vector<unsigned char> copy(data, data + size); // exact size: ASan sees any overread
    ntlm_challenge ch;
    std::memset(&ch, 0, sizeof ch);
    char err[256];
    (void)ntlm_parse_type2(copy.data(), copy.size(), &ch, err, sizeof err);
    return 0;
}
