// A hand-written two-layer design for the synthesis tests (test/hw/test_synth.c): the shape
// codegen/verilog.c renders (layer modules TOP_<layer>, then the top), small enough for yosys
// and nextpnr to finish in seconds.  fc1: 4 inputs of 8 bits, 3 outputs of 12 bits, constant
// multiply-adds as shifts and adds, registered (36 flip-flops).  fc2: 3 inputs of 12 bits,
// 2 outputs of 16 bits, each with one `*` by a constant, combinational.  The top's valid bit
// is the one other flip-flop.
module mac2_fc1(input clk, input [31:0] x, output reg [35:0] y);
  wire signed [7:0] x0 = x[7:0], x1 = x[15:8], x2 = x[23:16], x3 = x[31:24];
  // y0 = 3*x0 - 5*x1 + x2 + 2*x3; y1 = x0 + 7*x2 - x3; y2 = -2*x1 + 9*x3 - x0
  wire signed [11:0] a0 = (x0 <<< 1) + x0;
  wire signed [11:0] a1 = (x1 <<< 2) + x1;
  wire signed [11:0] a2 = (x3 <<< 1) + x2;
  wire signed [11:0] s0 = a0 - a1 + a2;
  wire signed [11:0] b0 = (x2 <<< 3) - x2;
  wire signed [11:0] s1 = b0 + x0 - x3;
  wire signed [11:0] c0 = (x3 <<< 3) + x3;
  wire signed [11:0] s2 = c0 - (x1 <<< 1) - x0;
  always @(posedge clk) y <= {s2, s1, s0};
endmodule

module mac2_fc2(input [35:0] x, output [31:0] y);
  wire signed [11:0] h0 = x[11:0], h1 = x[23:12], h2 = x[35:24];
  wire signed [15:0] y0 = h0 * 16'sd93 + h1 - (h2 <<< 2);
  wire signed [15:0] y1 = h2 * -16'sd45 + h0 + h1;
  assign y = {y1, y0};
endmodule

module mac2(input clk, input rst, input valid_in, input [31:0] x, output valid_out, output [31:0] y);
  wire [35:0] h;
  reg v;
  mac2_fc1 fc1(.clk(clk), .x(x), .y(h));
  mac2_fc2 fc2(.x(h), .y(y));
  always @(posedge clk) v <= rst ? 1'b0 : valid_in;
  assign valid_out = v;
endmodule
