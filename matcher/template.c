/* Names for the record formats the matcher reads. */
#include "sidik/template.h"

const char *sidik_fmr_format_name(sidik_fmr_format f)
{
    switch (f) {
    case SIDIK_FMR_ISO_2005:
        return "ISO/IEC 19794-2:2005";
    case SIDIK_FMR_ISO_2011:
        return "ISO/IEC 19794-2:2011";
    case SIDIK_FMR_ANSI_2004:
        return "ANSI/INCITS 378-2004";
    case SIDIK_FMR_ANSI_2009:
        return "ANSI/INCITS 378-2009";
    }
    return "unknown";
}
