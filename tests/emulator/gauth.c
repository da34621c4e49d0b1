#include "emu.h"
static bool gauth_handle(const emu_request *req, emu_response *resp)
{
    (void)req;
    (void)resp;
    return false;
}
bool emu_gauth_bearer_ok(const emu_request *req)
{
    (void)req;
    return true;
}
const emu_service emu_gauth_service = {.name = "gauth", .handle = gauth_handle};
