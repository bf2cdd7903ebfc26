//! (module owned by a work stream; filled in as it lands)
