# torch.fx.symbolic_trace of SeqBlocks (torch 1.13.0a0), written by scripts/fx_reference.py
node placeholder x x
node call_module seq_blocks_0 seq_blocks.0
node call_module seq_blocks_1 seq_blocks.1
node call_module seq_blocks_2 seq_blocks.2
node call_module seq_blocks_3 seq_blocks.3
node output output output
param seq_blocks.0.weight [16] float32
param seq_blocks.0.bias [16] float32
buffer seq_blocks.0.running_mean [16] float32
buffer seq_blocks.0.running_var [16] float32
buffer seq_blocks.0.num_batches_tracked [] int64
param seq_blocks.2.weight [5,16] float32
param seq_blocks.2.bias [5] float32
trainable 117
