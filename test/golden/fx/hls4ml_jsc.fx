# torch.fx.symbolic_trace of HLS4ML_JSC (torch 1.13.0a0), written by scripts/fx_reference.py
node placeholder x x
node call_module fc1 fc1
node call_module relu1 relu1
node call_module fc2 fc2
node call_module relu2 relu2
node call_module fc3 fc3
node call_module relu3 relu3
node call_module fc4 fc4
node output output output
param fc1.weight [64,16] float32
param fc1.bias [64] float32
param fc2.weight [32,64] float32
param fc2.bias [32] float32
param fc3.weight [32,32] float32
param fc3.bias [32] float32
param fc4.weight [5,32] float32
param fc4.bias [5] float32
trainable 4389
