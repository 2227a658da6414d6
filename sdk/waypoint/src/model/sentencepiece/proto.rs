//! A minimal protobuf wire-format reader for the fields of SentencePiece's `ModelProto` that
//! encoding needs. Unknown fields are skipped, absent fields take the `.proto` defaults.

use super::SentencePieceError;
use crate::model::protobuf::{Reader, Value, WireError};

/// A piece's type, as in `ModelProto.SentencePiece.Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PieceKind {
    Normal,
    Unknown,
    Control,
    UserDefined,
    Unused,
    Byte,
}

impl PieceKind {
    fn from_wire(value: u64) -> Result<PieceKind, SentencePieceError> {
        Ok(match value {
            1 => PieceKind::Normal,
            2 => PieceKind::Unknown,
            3 => PieceKind::Control,
            4 => PieceKind::UserDefined,
            5 => PieceKind::Unused,
            6 => PieceKind::Byte,
            other => return Err(malformed(format!("unknown piece type {other}"))),
        })
    }
}

/// One vocabulary entry.
#[derive(Debug, Clone)]
pub(crate) struct Piece {
    pub piece: String,
    pub score: f32,
    pub kind: PieceKind,
}

/// `TrainerSpec.ModelType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ModelType {
    Unigram,
    Bpe,
    Word,
    Char,
}

/// The parts of `TrainerSpec` that encoding depends on.
#[derive(Debug, Clone)]
pub(crate) struct TrainerSpec {
    pub model_type: ModelType,
    pub treat_whitespace_as_suffix: bool,
    pub byte_fallback: bool,
    pub unk_id: i64,
    pub bos_id: i64,
    pub eos_id: i64,
}

impl Default for TrainerSpec {
    fn default() -> Self {
        TrainerSpec {
            model_type: ModelType::Unigram,
            treat_whitespace_as_suffix: false,
            byte_fallback: false,
            unk_id: 0,
            bos_id: 1,
            eos_id: 2,
        }
    }
}

/// `NormalizerSpec`.
#[derive(Debug, Clone)]
pub(crate) struct NormalizerSpec {
    pub name: String,
    pub precompiled_charsmap: Vec<u8>,
    pub add_dummy_prefix: bool,
    pub remove_extra_whitespaces: bool,
    pub escape_whitespaces: bool,
    pub normalization_rule_tsv: String,
}

impl Default for NormalizerSpec {
    fn default() -> Self {
        NormalizerSpec {
            name: String::new(),
            precompiled_charsmap: Vec::new(),
            add_dummy_prefix: true,
            remove_extra_whitespaces: true,
            escape_whitespaces: true,
            normalization_rule_tsv: String::new(),
        }
    }
}

/// The decoded `ModelProto`.
#[derive(Debug, Clone, Default)]
pub(crate) struct ModelProto {
    pub pieces: Vec<Piece>,
    pub trainer_spec: TrainerSpec,
    pub normalizer_spec: NormalizerSpec,
}

fn malformed(reason: String) -> SentencePieceError {
    SentencePieceError::Malformed(reason)
}

impl From<WireError> for SentencePieceError {
    fn from(e: WireError) -> Self {
        malformed(e.0)
    }
}

fn as_bool(value: &Value<'_>) -> Option<bool> {
    match value {
        Value::Varint(v) => Some(*v != 0),
        _ => None,
    }
}

fn as_int(value: &Value<'_>) -> Option<i64> {
    match value {
        // int32 fields are sign-extended to 64 bits on the wire.
        Value::Varint(v) => Some(*v as i64),
        _ => None,
    }
}

fn as_string(value: &Value<'_>, what: &str) -> Result<String, SentencePieceError> {
    match value {
        Value::Bytes(b) => {
            String::from_utf8(b.to_vec()).map_err(|_| malformed(format!("{what} is not UTF-8")))
        }
        _ => Err(malformed(format!("{what} has the wrong wire type"))),
    }
}

fn wrong_type(what: &str) -> SentencePieceError {
    malformed(format!("{what} has the wrong wire type"))
}

fn parse_piece(data: &[u8]) -> Result<Piece, SentencePieceError> {
    let mut piece = Piece {
        piece: String::new(),
        score: 0.0,
        kind: PieceKind::Normal,
    };
    let mut reader = Reader::new(data);
    while let Some((number, value)) = reader.field()? {
        match number {
            1 => piece.piece = as_string(&value, "piece")?,
            2 => match value {
                Value::Fixed32(bits) => piece.score = f32::from_bits(bits),
                _ => return Err(wrong_type("piece score")),
            },
            3 => {
                piece.kind = PieceKind::from_wire(match value {
                    Value::Varint(v) => v,
                    _ => return Err(wrong_type("piece type")),
                })?
            }
            _ => {}
        }
    }
    Ok(piece)
}

fn parse_trainer_spec(data: &[u8]) -> Result<TrainerSpec, SentencePieceError> {
    let mut spec = TrainerSpec::default();
    let mut reader = Reader::new(data);
    while let Some((number, value)) = reader.field()? {
        match number {
            3 => {
                spec.model_type = match as_int(&value).ok_or_else(|| wrong_type("model_type"))? {
                    1 => ModelType::Unigram,
                    2 => ModelType::Bpe,
                    3 => ModelType::Word,
                    4 => ModelType::Char,
                    other => return Err(malformed(format!("unknown model type {other}"))),
                }
            }
            24 => {
                spec.treat_whitespace_as_suffix =
                    as_bool(&value).ok_or_else(|| wrong_type("suffix"))?
            }
            35 => {
                spec.byte_fallback = as_bool(&value).ok_or_else(|| wrong_type("byte_fallback"))?
            }
            40 => spec.unk_id = as_int(&value).ok_or_else(|| wrong_type("unk_id"))?,
            41 => spec.bos_id = as_int(&value).ok_or_else(|| wrong_type("bos_id"))?,
            42 => spec.eos_id = as_int(&value).ok_or_else(|| wrong_type("eos_id"))?,
            _ => {}
        }
    }
    Ok(spec)
}

fn parse_normalizer_spec(data: &[u8]) -> Result<NormalizerSpec, SentencePieceError> {
    let mut spec = NormalizerSpec::default();
    let mut reader = Reader::new(data);
    while let Some((number, value)) = reader.field()? {
        match number {
            1 => spec.name = as_string(&value, "normalizer name")?,
            2 => match value {
                Value::Bytes(b) => spec.precompiled_charsmap = b.to_vec(),
                _ => return Err(wrong_type("precompiled_charsmap")),
            },
            3 => {
                spec.add_dummy_prefix =
                    as_bool(&value).ok_or_else(|| wrong_type("add_dummy_prefix"))?
            }
            4 => {
                spec.remove_extra_whitespaces =
                    as_bool(&value).ok_or_else(|| wrong_type("remove_extra_whitespaces"))?;
            }
            5 => {
                spec.escape_whitespaces =
                    as_bool(&value).ok_or_else(|| wrong_type("escape_whitespaces"))?
            }
            6 => spec.normalization_rule_tsv = as_string(&value, "normalization_rule_tsv")?,
            _ => {}
        }
    }
    Ok(spec)
}

/// Decodes a serialised `ModelProto`.
pub(crate) fn parse_model(data: &[u8]) -> Result<ModelProto, SentencePieceError> {
    let mut model = ModelProto::default();
    let mut reader = Reader::new(data);
    while let Some((number, value)) = reader.field()? {
        let bytes = match (&value, number) {
            (Value::Bytes(b), 1..=3) => *b,
            (_, 1..=3) => return Err(wrong_type("ModelProto field")),
            _ => continue,
        };
        match number {
            1 => model.pieces.push(parse_piece(bytes)?),
            2 => model.trainer_spec = parse_trainer_spec(bytes)?,
            _ => model.normalizer_spec = parse_normalizer_spec(bytes)?,
        }
    }
    Ok(model)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::protobuf::write::{bytes_field, varint};

    #[test]
    fn pieces_specs_and_defaults_are_read() -> Result<(), SentencePieceError> {
        let mut piece = Vec::new();
        bytes_field(1, "▁hi".as_bytes(), &mut piece);
        varint(2 << 3 | 5, &mut piece);
        piece.extend_from_slice(&(-1.5_f32).to_le_bytes());
        varint(3 << 3, &mut piece);
        varint(4, &mut piece);
        let mut trainer = Vec::new();
        varint(3 << 3, &mut trainer);
        varint(2, &mut trainer);
        varint(41 << 3, &mut trainer);
        varint(u64::MAX, &mut trainer); // -1 as a sign-extended int32
        let mut normalizer = Vec::new();
        bytes_field(1, b"nmt_nfkc", &mut normalizer);
        varint(4 << 3, &mut normalizer);
        varint(0, &mut normalizer);
        let mut model = Vec::new();
        bytes_field(1, &piece, &mut model);
        bytes_field(2, &trainer, &mut model);
        bytes_field(3, &normalizer, &mut model);
        bytes_field(9, b"ignored", &mut model);

        let parsed = parse_model(&model)?;
        assert_eq!(parsed.pieces.len(), 1);
        assert_eq!(parsed.pieces[0].piece, "▁hi");
        assert_eq!(parsed.pieces[0].score, -1.5);
        assert_eq!(parsed.pieces[0].kind, PieceKind::UserDefined);
        assert_eq!(parsed.trainer_spec.model_type, ModelType::Bpe);
        assert_eq!(parsed.trainer_spec.bos_id, -1);
        assert_eq!(parsed.trainer_spec.eos_id, 2);
        assert_eq!(parsed.normalizer_spec.name, "nmt_nfkc");
        assert!(!parsed.normalizer_spec.remove_extra_whitespaces);
        assert!(
            parsed.normalizer_spec.add_dummy_prefix && parsed.normalizer_spec.escape_whitespaces
        );
        Ok(())
    }

    #[test]
    fn truncated_input_is_an_error() {
        assert!(parse_model(&[0x0a, 0x05, 0x01]).is_err());
        assert!(parse_model(&[0x08, 0xff]).is_err());
    }
}
