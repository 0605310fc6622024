/* Control: a matcher source may include matcher and common headers. */
#include "sidik/common.h"
#include "sidik/template.h"

int layering_probe_ok(void);
int layering_probe_ok(void)
{
    return (int)sizeof(sidik_template);
}
