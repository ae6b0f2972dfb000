"""The ResNet-50 3x3 convolutions the own_conv scripts time: (name, C, input H=W, K, stride), batch 32."""

LAYERS = [
    ("layer1.conv2", 64, 56, 64, 1),
    ("layer2.conv2 s2", 128, 56, 128, 2),
    ("layer2.conv2", 128, 28, 128, 1),
    ("layer3.conv2 s2", 256, 28, 256, 2),
    ("layer3.conv2", 256, 14, 256, 1),
    ("layer4.conv2 s2", 512, 14, 512, 2),
    ("layer4.conv2", 512, 7, 512, 1),
]
