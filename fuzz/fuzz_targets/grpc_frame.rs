//! A native API frame as the gRPC front end receives it: protobuf decoding,
//! then the conversion of a request into the service's vocabulary.
#![no_main]

use core_server::api::grpc::convert;
use libfuzzer_sys::fuzz_target;
use prost::Message;
use proto::v1::{client_frame::Frame, ClientFrame};

fuzz_target!(|data: &[u8]| {
    let Ok(frame) = ClientFrame::decode(data) else {
        return;
    };
    match frame.frame {
        Some(Frame::Request(request)) => {
            let _ = convert::is_linearizable(request.op.as_ref());
            let _ = convert::request(request.op);
        }
        Some(Frame::Connect(connect)) => {
            let _ = convert::connect_args(connect, None);
        }
        _ => {}
    }
});
