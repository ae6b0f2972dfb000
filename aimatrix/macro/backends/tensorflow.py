"""TensorFlow: Keras definitions of the classification models (``keras.applications``, random weights).

Implemented against TensorFlow's documented API; TensorFlow was not installed
where this was written, so it is unverified. Keras has no definition of our Caffe
AlexNet/GoogLeNet or of the detection and sequence models: those raise
UnsupportedError. The weights are Keras's own random ones, so verification
compares against the same Keras model in fp32 (not against PyTorch). TensorFlow
runs on its own streams, so each timed call ends by fetching the (small) logits
to the host, which waits for the device.
"""

from __future__ import annotations

import numpy as np
import torch

from ...errors import UnsupportedError
from .base import Backend, ModelCase, Prepared

APPS = {"resnet50": "ResNet50", "resnet152": "ResNet152", "densenet121": "DenseNet121", "vgg16": "VGG16"}


class TensorFlow(Backend):
    name = "tensorflow"
    module_name = "tensorflow"
    package = "tensorflow"

    def check(self, case: ModelCase) -> None:
        super().check(case)
        if case.spec.name not in APPS:
            raise UnsupportedError(
                f"backend='tensorflow' has Keras definitions of {', '.join(APPS)} only, not {case.spec.name!r}"
            )

    def prepare(self, case: ModelCase) -> Prepared:
        tf = self.import_module()
        keras = tf.keras
        tf.config.experimental.enable_tensor_float_32_execution(case.dtype == "tf32")
        policy = {"fp16": "mixed_float16", "bf16": "mixed_bfloat16"}.get(case.dtype, "float32")
        device = f"/GPU:{case.device.index}" if case.device.is_cuda else "/CPU:0"
        x_np = case.steps[0][0].float().cpu().permute(0, 2, 3, 1).contiguous().numpy()  # NHWC
        shape = x_np.shape[1:]

        def build(pol: str):
            keras.mixed_precision.set_global_policy(pol)
            try:
                tf.keras.utils.set_random_seed(0)
                with tf.device(device):
                    return getattr(keras.applications, APPS[case.spec.name])(weights=None, input_shape=shape)
            finally:
                keras.mixed_precision.set_global_policy("float32")

        model = build(policy)
        with tf.device(device):
            x = tf.constant(x_np)
        fn = tf.function(lambda t: model(t, training=False))
        ref = np.asarray(tf.function(lambda t: build("float32")(t, training=False))(x))

        def run() -> None:
            fn(x).numpy()  # the host fetch waits for TensorFlow's streams

        def collect():
            return [[torch.from_numpy(np.asarray(fn(x), dtype=np.float32))]]

        run()
        return Prepared(run, collect, info={"tensorflow": tf.__version__, "reference": torch.from_numpy(ref)})
