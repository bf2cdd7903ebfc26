//! pcapng: sections, interfaces (link type, tsresol/tsoffset), EPB/SPB/legacy packet blocks.
