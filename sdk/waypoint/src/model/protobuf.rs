//! A minimal protobuf wire-format reader, shared by the model files parsed in Rust: the
//! SentencePiece `ModelProto` of the deep tier and the fast tier's ONNX `ModelProto`. Callers
//! walk the fields they know and skip the rest; nothing is copied out of the input.

/// The bytes do not follow the protobuf wire format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct WireError(pub(crate) String);

/// A field as read off the wire.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value<'a> {
    /// Wire type 0: an integer, bool or enum.
    Varint(u64),
    /// Wire type 1: a 64-bit fixed field (double, fixed64); no field read so far has this
    /// type, so only its length matters.
    Fixed64,
    /// Wire type 2: a string, bytes, nested message or packed repeated field.
    Bytes(&'a [u8]),
    /// Wire type 5: a 32-bit fixed field (float, fixed32).
    Fixed32(u32),
}

/// Reads the fields of one serialised message in order.
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader over one serialised message.
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }

    /// Whether every byte has been read.
    pub(crate) fn is_at_end(&self) -> bool {
        self.pos >= self.data.len()
    }

    /// The next base-128 varint.
    pub(crate) fn varint(&mut self) -> Result<u64, WireError> {
        let mut value = 0_u64;
        for shift in (0..64).step_by(7) {
            let byte = *self
                .data
                .get(self.pos)
                .ok_or_else(|| WireError("truncated varint".into()))?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(WireError("varint longer than 10 bytes".into()))
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], WireError> {
        let end = self
            .pos
            .checked_add(len)
            .filter(|&end| end <= self.data.len())
            .ok_or_else(|| WireError(format!("field of {len} bytes runs past the end")))?;
        let bytes = &self.data[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
        let mut le = [0_u8; N];
        le.copy_from_slice(self.take(N)?);
        Ok(le)
    }

    /// The next `(field number, value)`, or `None` at the end.
    pub(crate) fn field(&mut self) -> Result<Option<(u64, Value<'a>)>, WireError> {
        if self.is_at_end() {
            return Ok(None);
        }
        let key = self.varint()?;
        let number = key >> 3;
        let value = match key & 7 {
            0 => Value::Varint(self.varint()?),
            1 => {
                self.take(8)?;
                Value::Fixed64
            }
            2 => {
                let len = usize::try_from(self.varint()?)
                    .map_err(|_| WireError("length does not fit in memory".into()))?;
                Value::Bytes(self.take(len)?)
            }
            5 => Value::Fixed32(u32::from_le_bytes(self.fixed()?)),
            other => {
                return Err(WireError(format!(
                    "unsupported wire type {other} for field {number}"
                )));
            }
        };
        Ok(Some((number, value)))
    }
}

#[cfg(test)]
pub(crate) mod write {
    //! Encoders for building small messages in tests.

    /// Appends `v` as a base-128 varint.
    pub(crate) fn varint(mut v: u64, out: &mut Vec<u8>) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }

    /// Appends a length-delimited field.
    pub(crate) fn bytes_field(number: u64, data: &[u8], out: &mut Vec<u8>) {
        varint(number << 3 | 2, out);
        varint(data.len() as u64, out);
        out.extend_from_slice(data);
    }

    /// Appends a varint field.
    pub(crate) fn varint_field(number: u64, value: u64, out: &mut Vec<u8>) {
        varint(number << 3, out);
        varint(value, out);
    }
}

#[cfg(test)]
mod tests {
    use super::write::{bytes_field, varint_field};
    use super::*;

    #[test]
    fn fields_of_every_wire_type_are_read() -> Result<(), WireError> {
        let mut data = Vec::new();
        varint_field(1, 300, &mut data);
        bytes_field(2, b"hi", &mut data);
        write::varint(3 << 3 | 5, &mut data);
        data.extend_from_slice(&1.5_f32.to_le_bytes());
        write::varint(4 << 3 | 1, &mut data);
        data.extend_from_slice(&7_u64.to_le_bytes());
        let mut reader = Reader::new(&data);
        assert!(matches!(reader.field()?, Some((1, Value::Varint(300)))));
        assert!(matches!(reader.field()?, Some((2, Value::Bytes(b"hi")))));
        assert!(
            matches!(reader.field()?, Some((3, Value::Fixed32(bits))) if f32::from_bits(bits) == 1.5)
        );
        assert!(matches!(reader.field()?, Some((4, Value::Fixed64))));
        assert!(reader.field()?.is_none());
        Ok(())
    }

    #[test]
    fn truncated_input_is_an_error() {
        assert!(Reader::new(&[0x0a, 0x05, 0x01]).field().is_err());
        assert!(Reader::new(&[0x08, 0xff]).field().is_err());
        assert!(
            Reader::new(&[0x0b]).field().is_err(),
            "wire type 3 is not supported"
        );
    }
}
