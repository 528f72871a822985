// A combinational one-layer design for the synthesis tests (test/hw/test_synth.c): mac2.v's
// fc1 without its register, and a top whose valid_out is valid_in (pipeline 0).
module comb1_fc1(input [31:0] x, output [35:0] y);
  wire signed [7:0] x0 = x[7:0], x1 = x[15:8], x2 = x[23:16], x3 = x[31:24];
  wire signed [11:0] s0 = (x0 <<< 1) + x0 - ((x1 <<< 2) + x1) + (x3 <<< 1) + x2;
  wire signed [11:0] s1 = (x2 <<< 3) - x2 + x0 - x3;
  wire signed [11:0] s2 = (x3 <<< 3) + x3 - (x1 <<< 1) - x0;
  assign y = {s2, s1, s0};
endmodule

module comb1(input clk, input rst, input valid_in, input [31:0] x, output valid_out, output [35:0] y);
  comb1_fc1 fc1(.x(x), .y(y));
  assign valid_out = valid_in;
endmodule
