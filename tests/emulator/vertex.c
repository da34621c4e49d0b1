#include "emu.h"
static bool vertex_handle(const emu_request *req, emu_response *resp)
{
    (void)req;
    (void)resp;
    return false;
}
const emu_service emu_vertex_service = {.name = "vertex", .handle = vertex_handle};
