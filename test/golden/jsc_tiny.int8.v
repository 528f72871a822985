// jsc: integer inference of model JSC_Tiny as Verilog-2005 (jscc, codegen/verilog.c).
// Input x: 16 codes of 8 bits (two's complement, value = code * 2^-4), element j at x[j*8 +: 8].
// Output y: 5 codes of 9 bits (value = code * 2^-4), element j at y[j*9 +: 9].
// Ports: input clk, rst, valid_in, [127:0] x; output valid_out, [44:0] y.
// Latency: 2 cycles from valid_in to valid_out (registers at the layers marked stage); rst (synchronous) clears valid_out.
// Layers (module: elements x bits, stage = registers between x and its output):
//   jsc_seq_blocks_0               16 x 13 bits, stage 0
//   jsc_seq_blocks_1               16 x  9 bits, stage 1
//   jsc_seq_blocks_2                5 x 14 bits, stage 1
//   jsc_seq_blocks_3                5 x  9 bits, stage 2

// layer 0: seq_blocks_0, 16 elements of 13 bits, stage 0
module jsc_seq_blocks_0 (
  input [127:0] x0,
  output [207:0] y
);
  wire signed [7:0] v0_0 = $signed(x0[7:0]);
  wire signed [7:0] v0_1 = $signed(x0[15:8]);
  wire signed [7:0] v0_2 = $signed(x0[23:16]);
  wire signed [7:0] v0_3 = $signed(x0[31:24]);
  wire signed [7:0] v0_4 = $signed(x0[39:32]);
  wire signed [7:0] v0_5 = $signed(x0[47:40]);
  wire signed [7:0] v0_6 = $signed(x0[55:48]);
  wire signed [7:0] v0_7 = $signed(x0[63:56]);
  wire signed [7:0] v0_8 = $signed(x0[71:64]);
  wire signed [7:0] v0_9 = $signed(x0[79:72]);
  wire signed [7:0] v0_10 = $signed(x0[87:80]);
  wire signed [7:0] v0_11 = $signed(x0[95:88]);
  wire signed [7:0] v0_12 = $signed(x0[103:96]);
  wire signed [7:0] v0_13 = $signed(x0[111:104]);
  wire signed [7:0] v0_14 = $signed(x0[119:112]);
  wire signed [7:0] v0_15 = $signed(x0[127:120]);
  // v1 = scale (seq_blocks_0)
  wire signed [12:0] t0 = (v0_0 <<< 5) - (v0_0 <<< 1) - (v0_0 <<< 3);
  wire signed [12:0] t1 = t0 - 9'sd192;
  wire signed [12:0] v1_0 = t1;
  wire signed [11:0] t2 = v0_1 + (v0_1 <<< 3);
  wire signed [11:0] t3 = t2 - 7'sd48;
  wire signed [11:0] v1_1 = t3;
  wire signed [11:0] t4 = v0_2 + (v0_2 <<< 3);
  wire signed [11:0] t5 = t4 - 9'sd208;
  wire signed [11:0] v1_2 = t5;
  wire signed [11:0] t6 = (v0_3 <<< 4) - (v0_3 <<< 2);
  wire signed [11:0] t7 = t6 + 9'sd208;
  wire signed [11:0] v1_3 = t7;
  wire signed [10:0] t8 = (v0_4 <<< 3);
  wire signed [11:0] t9 = t8 + 8'sd96;
  wire signed [11:0] v1_4 = t9;
  wire signed [11:0] t10 = (v0_5 <<< 4) - (v0_5 <<< 1);
  wire signed [11:0] t11 = t10 + 9'sd144;
  wire signed [11:0] v1_5 = t11;
  wire signed [10:0] t12 = (v0_6 <<< 3) - v0_6;
  wire signed [10:0] t13 = t12 - 7'sd48;
  wire signed [10:0] v1_6 = t13;
  wire signed [12:0] t14 = (v0_7 <<< 2) + (v0_7 <<< 4);
  wire signed [12:0] t15 = t14 - 8'sd96;
  wire signed [12:0] v1_7 = t15;
  wire signed [12:0] t16 = v0_8 + (v0_8 <<< 2) + (v0_8 <<< 4);
  wire signed [12:0] t17 = t16 + 10'sd272;
  wire signed [12:0] v1_8 = t17;
  wire signed [12:0] t18 = (v0_9 <<< 5) - v0_9 - (v0_9 <<< 3);
  wire signed [12:0] t19 = t18 + 9'sd176;
  wire signed [12:0] v1_9 = t19;
  wire signed [12:0] t20 = v0_10 + (v0_10 <<< 4);
  wire signed [12:0] t21 = t20 - 10'sd288;
  wire signed [12:0] v1_10 = t21;
  wire signed [12:0] t22 = (v0_11 <<< 5) - v0_11 - (v0_11 <<< 3);
  wire signed [12:0] t23 = t22 + 10'sd464;
  wire signed [12:0] v1_11 = t23;
  wire signed [12:0] t24 = (v0_12 <<< 2) + (v0_12 <<< 4) - v0_12;
  wire signed [12:0] t25 = t24 - 8'sd96;
  wire signed [12:0] v1_12 = t25;
  wire signed [12:0] t26 = (v0_13 <<< 5) - (v0_13 <<< 2);
  wire signed [12:0] t27 = t26 - 9'sd160;
  wire signed [12:0] v1_13 = t27;
  wire signed [11:0] t28 = (v0_14 <<< 4) - v0_14;
  wire signed [11:0] t29 = t28 + 8'sd96;
  wire signed [11:0] v1_14 = t29;
  wire signed [12:0] t30 = (v0_15 <<< 5) - v0_15 - (v0_15 <<< 3);
  wire signed [12:0] t31 = t30 - 9'sd240;
  wire signed [12:0] v1_15 = t31;
  assign y[12:0] = v1_0;
  assign y[25:13] = v1_1;
  assign y[38:26] = v1_2;
  assign y[51:39] = v1_3;
  assign y[64:52] = v1_4;
  assign y[77:65] = v1_5;
  assign y[90:78] = v1_6;
  assign y[103:91] = v1_7;
  assign y[116:104] = v1_8;
  assign y[129:117] = v1_9;
  assign y[142:130] = v1_10;
  assign y[155:143] = v1_11;
  assign y[168:156] = v1_12;
  assign y[181:169] = v1_13;
  assign y[194:182] = v1_14;
  assign y[207:195] = v1_15;
endmodule

// layer 1: seq_blocks_1, 16 elements of 9 bits, stage 1
module jsc_seq_blocks_1 (
  input clk,
  input [207:0] x0,
  output [143:0] y
);
  wire signed [12:0] v1_0 = $signed(x0[12:0]);
  wire signed [11:0] v1_1 = $signed(x0[24:13]);
  wire signed [11:0] v1_2 = $signed(x0[37:26]);
  wire signed [11:0] v1_3 = $signed(x0[50:39]);
  wire signed [11:0] v1_4 = $signed(x0[63:52]);
  wire signed [11:0] v1_5 = $signed(x0[76:65]);
  wire signed [10:0] v1_6 = $signed(x0[88:78]);
  wire signed [12:0] v1_7 = $signed(x0[103:91]);
  wire signed [12:0] v1_8 = $signed(x0[116:104]);
  wire signed [12:0] v1_9 = $signed(x0[129:117]);
  wire signed [12:0] v1_10 = $signed(x0[142:130]);
  wire signed [12:0] v1_11 = $signed(x0[155:143]);
  wire signed [12:0] v1_12 = $signed(x0[168:156]);
  wire signed [12:0] v1_13 = $signed(x0[181:169]);
  wire signed [11:0] v1_14 = $signed(x0[193:182]);
  wire signed [12:0] v1_15 = $signed(x0[207:195]);
  // v2 = requant (seq_blocks_1)
  wire signed [12:0] t32 = v1_0 + 4'sd7 + $signed({1'b0, v1_0[4]});
  wire signed [8:0] t33 = t32 >>> 4;
  wire signed [8:0] v2_0 = t33 < 1'sd0 ? 1'sd0 : t33;
  wire signed [11:0] t34 = v1_1 + 4'sd7 + $signed({1'b0, v1_1[4]});
  wire signed [7:0] t35 = t34 >>> 4;
  wire signed [7:0] v2_1 = t35 < 1'sd0 ? 1'sd0 : t35;
  wire signed [11:0] t36 = v1_2 + 4'sd7 + $signed({1'b0, v1_2[4]});
  wire signed [7:0] t37 = t36 >>> 4;
  wire signed [6:0] v2_2 = t37 < 1'sd0 ? 1'sd0 : t37;
  wire signed [11:0] t38 = v1_3 + 4'sd7 + $signed({1'b0, v1_3[4]});
  wire signed [7:0] t39 = t38 >>> 4;
  wire signed [7:0] v2_3 = t39 < 1'sd0 ? 1'sd0 : t39;
  wire signed [11:0] t40 = v1_4 + 4'sd7 + $signed({1'b0, v1_4[4]});
  wire signed [7:0] t41 = t40 >>> 4;
  wire signed [7:0] v2_4 = t41 < 1'sd0 ? 1'sd0 : t41;
  wire signed [11:0] t42 = v1_5 + 4'sd7 + $signed({1'b0, v1_5[4]});
  wire signed [7:0] t43 = t42 >>> 4;
  wire signed [7:0] v2_5 = t43 < 1'sd0 ? 1'sd0 : t43;
  wire signed [10:0] t44 = v1_6 + 4'sd7 + $signed({1'b0, v1_6[4]});
  wire signed [6:0] t45 = t44 >>> 4;
  wire signed [6:0] v2_6 = t45 < 1'sd0 ? 1'sd0 : t45;
  wire signed [12:0] t46 = v1_7 + 4'sd7 + $signed({1'b0, v1_7[4]});
  wire signed [8:0] t47 = t46 >>> 4;
  wire signed [8:0] v2_7 = t47 < 1'sd0 ? 1'sd0 : t47;
  wire signed [12:0] t48 = v1_8 + 4'sd7 + $signed({1'b0, v1_8[4]});
  wire signed [8:0] t49 = t48 >>> 4;
  wire signed [8:0] v2_8 = t49 < 1'sd0 ? 1'sd0 : t49;
  wire signed [12:0] t50 = v1_9 + 4'sd7 + $signed({1'b0, v1_9[4]});
  wire signed [8:0] t51 = t50 >>> 4;
  wire signed [8:0] v2_9 = t51 < 1'sd0 ? 1'sd0 : t51;
  wire signed [12:0] t52 = v1_10 + 4'sd7 + $signed({1'b0, v1_10[4]});
  wire signed [8:0] t53 = t52 >>> 4;
  wire signed [7:0] v2_10 = t53 < 1'sd0 ? 1'sd0 : t53;
  wire signed [12:0] t54 = v1_11 + 4'sd7 + $signed({1'b0, v1_11[4]});
  wire signed [8:0] t55 = t54 >>> 4;
  wire signed [8:0] v2_11 = t55 < 1'sd0 ? 1'sd0 : t55;
  wire signed [12:0] t56 = v1_12 + 4'sd7 + $signed({1'b0, v1_12[4]});
  wire signed [8:0] t57 = t56 >>> 4;
  wire signed [8:0] v2_12 = t57 < 1'sd0 ? 1'sd0 : t57;
  wire signed [12:0] t58 = v1_13 + 4'sd7 + $signed({1'b0, v1_13[4]});
  wire signed [8:0] t59 = t58 >>> 4;
  wire signed [8:0] v2_13 = t59 < 1'sd0 ? 1'sd0 : t59;
  wire signed [11:0] t60 = v1_14 + 4'sd7 + $signed({1'b0, v1_14[4]});
  wire signed [7:0] t61 = t60 >>> 4;
  wire signed [7:0] v2_14 = t61 < 1'sd0 ? 1'sd0 : t61;
  wire signed [12:0] t62 = v1_15 + 4'sd7 + $signed({1'b0, v1_15[4]});
  wire signed [8:0] t63 = t62 >>> 4;
  wire signed [8:0] v2_15 = t63 < 1'sd0 ? 1'sd0 : t63;
  reg signed [8:0] r0;
  always @(posedge clk) r0 <= v2_0;
  assign y[8:0] = r0;
  reg signed [7:0] r1;
  always @(posedge clk) r1 <= v2_1;
  assign y[17:9] = r1;
  reg signed [6:0] r2;
  always @(posedge clk) r2 <= v2_2;
  assign y[26:18] = r2;
  reg signed [7:0] r3;
  always @(posedge clk) r3 <= v2_3;
  assign y[35:27] = r3;
  reg signed [7:0] r4;
  always @(posedge clk) r4 <= v2_4;
  assign y[44:36] = r4;
  reg signed [7:0] r5;
  always @(posedge clk) r5 <= v2_5;
  assign y[53:45] = r5;
  reg signed [6:0] r6;
  always @(posedge clk) r6 <= v2_6;
  assign y[62:54] = r6;
  reg signed [8:0] r7;
  always @(posedge clk) r7 <= v2_7;
  assign y[71:63] = r7;
  reg signed [8:0] r8;
  always @(posedge clk) r8 <= v2_8;
  assign y[80:72] = r8;
  reg signed [8:0] r9;
  always @(posedge clk) r9 <= v2_9;
  assign y[89:81] = r9;
  reg signed [7:0] r10;
  always @(posedge clk) r10 <= v2_10;
  assign y[98:90] = r10;
  reg signed [8:0] r11;
  always @(posedge clk) r11 <= v2_11;
  assign y[107:99] = r11;
  reg signed [8:0] r12;
  always @(posedge clk) r12 <= v2_12;
  assign y[116:108] = r12;
  reg signed [8:0] r13;
  always @(posedge clk) r13 <= v2_13;
  assign y[125:117] = r13;
  reg signed [7:0] r14;
  always @(posedge clk) r14 <= v2_14;
  assign y[134:126] = r14;
  reg signed [8:0] r15;
  always @(posedge clk) r15 <= v2_15;
  assign y[143:135] = r15;
endmodule

// layer 2: seq_blocks_2, 5 elements of 14 bits, stage 1
module jsc_seq_blocks_2 (
  input [143:0] x0,
  output [69:0] y
);
  wire signed [8:0] v2_0 = $signed(x0[8:0]);
  wire signed [7:0] v2_1 = $signed(x0[16:9]);
  wire signed [6:0] v2_2 = $signed(x0[24:18]);
  wire signed [7:0] v2_3 = $signed(x0[34:27]);
  wire signed [7:0] v2_4 = $signed(x0[43:36]);
  wire signed [7:0] v2_5 = $signed(x0[52:45]);
  wire signed [6:0] v2_6 = $signed(x0[60:54]);
  wire signed [8:0] v2_7 = $signed(x0[71:63]);
  wire signed [8:0] v2_8 = $signed(x0[80:72]);
  wire signed [8:0] v2_9 = $signed(x0[89:81]);
  wire signed [7:0] v2_10 = $signed(x0[97:90]);
  wire signed [8:0] v2_11 = $signed(x0[107:99]);
  wire signed [8:0] v2_12 = $signed(x0[116:108]);
  wire signed [8:0] v2_13 = $signed(x0[125:117]);
  wire signed [7:0] v2_14 = $signed(x0[133:126]);
  wire signed [8:0] v2_15 = $signed(x0[143:135]);
  // v3 = requant (seq_blocks_2)
  wire signed [7:0] v3_0 = v2_0 > 8'sd127 ? 8'sd127 : v2_0;
  wire signed [7:0] v3_1 = v2_1;
  wire signed [6:0] v3_2 = v2_2;
  wire signed [7:0] v3_3 = v2_3;
  wire signed [7:0] v3_4 = v2_4;
  wire signed [7:0] v3_5 = v2_5;
  wire signed [6:0] v3_6 = v2_6;
  wire signed [7:0] v3_7 = v2_7 > 8'sd127 ? 8'sd127 : v2_7;
  wire signed [7:0] v3_8 = v2_8 > 8'sd127 ? 8'sd127 : v2_8;
  wire signed [7:0] v3_9 = v2_9 > 8'sd127 ? 8'sd127 : v2_9;
  wire signed [7:0] v3_10 = v2_10;
  wire signed [7:0] v3_11 = v2_11 > 8'sd127 ? 8'sd127 : v2_11;
  wire signed [7:0] v3_12 = v2_12 > 8'sd127 ? 8'sd127 : v2_12;
  wire signed [7:0] v3_13 = v2_13 > 8'sd127 ? 8'sd127 : v2_13;
  wire signed [7:0] v3_14 = v2_14;
  wire signed [7:0] v3_15 = v2_15 > 8'sd127 ? 8'sd127 : v2_15;
  // v4 = matvec (seq_blocks_2)
  wire signed [10:0] t64 = v3_0 - (v3_0 <<< 3);
  wire signed [10:0] t65 = -(v3_1 <<< 1) - (v3_1 <<< 3);
  wire signed [9:0] t66 = (v3_2 <<< 1) - (v3_2 <<< 3);
  wire signed [7:0] t67 = -v3_3;
  wire signed [10:0] t68 = -(v3_4 <<< 1) - (v3_4 <<< 3);
  wire signed [10:0] t69 = -v3_5 - (v3_5 <<< 2);
  wire signed [11:0] t70 = (v3_7 <<< 4) - (v3_7 <<< 2);
  wire signed [9:0] t71 = (v3_8 <<< 2) - v3_8;
  wire signed [10:0] t72 = v3_9 - (v3_9 <<< 3);
  wire signed [11:0] t73 = -(v3_10 <<< 1) - (v3_10 <<< 3);
  wire signed [9:0] t74 = -(v3_11 <<< 2);
  wire signed [10:0] t75 = (v3_12 <<< 3);
  wire signed [11:0] t76 = -(v3_13 <<< 1) - (v3_13 <<< 3);
  wire signed [9:0] t77 = v3_14 - (v3_14 <<< 2);
  wire signed [10:0] t78 = (v3_15 <<< 3);
  wire signed [11:0] t79 = t64 + t65;
  wire signed [9:0] t80 = t66 + t67;
  wire signed [11:0] t81 = t68 + t69;
  wire signed [11:0] t82 = t70 + t71;
  wire signed [12:0] t83 = t72 + t73;
  wire signed [10:0] t84 = t74 + t75;
  wire signed [11:0] t85 = t76 + t77;
  wire signed [10:0] t86 = t78 - 7'sd48;
  wire signed [11:0] t87 = t79 + t80;
  wire signed [11:0] t88 = t81 + t82;
  wire signed [12:0] t89 = t83 + t84;
  wire signed [11:0] t90 = t85 + t86;
  wire signed [12:0] t91 = t87 + t88;
  wire signed [13:0] t92 = t89 + t90;
  wire signed [13:0] t93 = t91 + t92;
  wire signed [13:0] v4_0 = t93;
  wire signed [11:0] t94 = v3_0 + (v3_0 <<< 2) - (v3_0 <<< 4);
  wire signed [10:0] t95 = -(v3_1 <<< 1) - (v3_1 <<< 3);
  wire signed [9:0] t96 = v3_2 - (v3_2 <<< 3);
  wire signed [11:0] t97 = (v3_3 <<< 4) - (v3_3 <<< 2);
  wire signed [10:0] t98 = -(v3_4 <<< 3);
  wire signed [8:0] t99 = (v3_5 <<< 1);
  wire signed [9:0] t100 = -v3_6 - (v3_6 <<< 2);
  wire signed [11:0] t101 = (v3_7 <<< 4) - v3_7 - (v3_7 <<< 2);
  wire signed [11:0] t102 = (v3_8 <<< 4) - (v3_8 <<< 2);
  wire signed [10:0] t103 = -v3_9 - (v3_9 <<< 2);
  wire signed [11:0] t104 = -(v3_10 <<< 1) - (v3_10 <<< 3);
  wire signed [10:0] t105 = (v3_11 <<< 1) - (v3_11 <<< 3);
  wire signed [11:0] t106 = v3_12 + (v3_12 <<< 3);
  wire signed [10:0] t107 = (v3_13 <<< 3) - (v3_13 <<< 1);
  wire signed [9:0] t108 = (v3_14 <<< 2);
  wire signed [10:0] t109 = (v3_15 <<< 3);
  wire signed [12:0] t110 = t94 + t95;
  wire signed [11:0] t111 = t96 + t97;
  wire signed [10:0] t112 = t98 + t99;
  wire signed [11:0] t113 = t100 + t101;
  wire signed [11:0] t114 = t102 + t103;
  wire signed [11:0] t115 = t104 + t105;
  wire signed [11:0] t116 = t106 + t107;
  wire signed [11:0] t117 = t108 + t109;
  wire signed [12:0] t118 = t110 + t111;
  wire signed [11:0] t119 = t112 + t113;
  wire signed [12:0] t120 = t114 + t115;
  wire signed [12:0] t121 = t116 + t117;
  wire signed [12:0] t122 = t118 + t119;
  wire signed [13:0] t123 = t120 + t121;
  wire signed [13:0] t124 = t122 + t123;
  wire signed [13:0] t125 = t124 + 8'sd64;
  wire signed [13:0] v4_1 = t125;
  wire signed [11:0] t126 = v3_0 + (v3_0 <<< 3);
  wire signed [9:0] t127 = (v3_1 <<< 1) - (v3_1 <<< 3);
  wire signed [9:0] t128 = -(v3_2 <<< 3);
  wire signed [11:0] t129 = (v3_3 <<< 2) - (v3_3 <<< 4);
  wire signed [9:0] t130 = (v3_4 <<< 1) - (v3_4 <<< 3);
  wire signed [11:0] t131 = (v3_5 <<< 1) + (v3_5 <<< 3);
  wire signed [8:0] t132 = v3_6 - (v3_6 <<< 2);
  wire signed [9:0] t133 = (v3_7 <<< 2);
  wire signed [9:0] t134 = (v3_8 <<< 2);
  wire signed [10:0] t135 = (v3_9 <<< 3) - v3_9;
  wire signed [10:0] t136 = (v3_11 <<< 1) - (v3_11 <<< 3);
  wire signed [11:0] t137 = v3_12 + (v3_12 <<< 3);
  wire signed [8:0] t138 = (v3_13 <<< 1);
  wire signed [9:0] t139 = v3_14 - (v3_14 <<< 2);
  wire signed [10:0] t140 = v3_15 + (v3_15 <<< 2);
  wire signed [11:0] t141 = t126 + t127;
  wire signed [11:0] t142 = t128 + t129;
  wire signed [11:0] t143 = t130 + t131;
  wire signed [9:0] t144 = t132 + t133;
  wire signed [11:0] t145 = t134 + t135;
  wire signed [11:0] t146 = t136 + t137;
  wire signed [9:0] t147 = t138 + t139;
  wire signed [10:0] t148 = t140 - 8'sd64;
  wire signed [12:0] t149 = t141 + t142;
  wire signed [11:0] t150 = t143 + t144;
  wire signed [12:0] t151 = t145 + t146;
  wire signed [10:0] t152 = t147 + t148;
  wire signed [12:0] t153 = t149 + t150;
  wire signed [12:0] t154 = t151 + t152;
  wire signed [13:0] t155 = t153 + t154;
  wire signed [13:0] v4_2 = t155;
  wire signed [11:0] t156 = (v3_0 <<< 1) + (v3_0 <<< 3);
  wire signed [10:0] t157 = -(v3_1 <<< 3);
  wire signed [8:0] t158 = (v3_2 <<< 2) - v3_2;
  wire signed [9:0] t159 = (v3_3 <<< 2);
  wire signed [9:0] t160 = (v3_4 <<< 2);
  wire signed [8:0] t161 = (v3_6 <<< 2);
  wire signed [9:0] t162 = (v3_7 <<< 2) - v3_7;
  wire signed [9:0] t163 = (v3_8 <<< 2) - v3_8;
  wire signed [10:0] t164 = v3_9 + (v3_9 <<< 2);
  wire signed [11:0] t165 = v3_10 + (v3_10 <<< 2) - (v3_10 <<< 4);
  wire signed [11:0] t166 = (v3_11 <<< 2) - (v3_11 <<< 4);
  wire signed [10:0] t167 = (v3_12 <<< 3);
  wire signed [9:0] t168 = -(v3_13 <<< 2);
  wire signed [10:0] t169 = -v3_14 - (v3_14 <<< 2);
  wire signed [11:0] t170 = t156 + t157;
  wire signed [10:0] t171 = t158 + t159;
  wire signed [9:0] t172 = t160 + v3_5;
  wire signed [10:0] t173 = t161 + t162;
  wire signed [10:0] t174 = t163 + t164;
  wire signed [12:0] t175 = t165 + t166;
  wire signed [10:0] t176 = t167 + t168;
  wire signed [10:0] t177 = t169 - 7'sd48;
  wire signed [11:0] t178 = t170 + t171;
  wire signed [10:0] t179 = t172 + t173;
  wire signed [12:0] t180 = t174 + t175;
  wire signed [11:0] t181 = t176 + t177;
  wire signed [12:0] t182 = t178 + t179;
  wire signed [12:0] t183 = t180 + t181;
  wire signed [13:0] t184 = t182 + t183;
  wire signed [13:0] v4_3 = t184;
  wire signed [11:0] t185 = -v3_0 - (v3_0 <<< 3);
  wire signed [8:0] t186 = (v3_2 <<< 2);
  wire signed [10:0] t187 = v3_3 + (v3_3 <<< 3);
  wire signed [9:0] t188 = (v3_4 <<< 2);
  wire signed [9:0] t189 = (v3_5 <<< 2);
  wire signed [9:0] t190 = (v3_6 <<< 3);
  wire signed [8:0] t191 = (v3_7 <<< 1);
  wire signed [8:0] t192 = -(v3_9 <<< 1);
  wire signed [9:0] t193 = -(v3_10 <<< 2);
  wire signed [7:0] t194 = -v3_11;
  wire signed [11:0] t195 = (v3_12 <<< 2) - (v3_12 <<< 4);
  wire signed [10:0] t196 = v3_13 - (v3_13 <<< 3);
  wire signed [9:0] t197 = -(v3_14 <<< 2);
  wire signed [10:0] t198 = v3_15 + (v3_15 <<< 2);
  wire signed [11:0] t199 = t185 + t186;
  wire signed [11:0] t200 = t187 + t188;
  wire signed [10:0] t201 = t189 + t190;
  wire signed [9:0] t202 = t191 + v3_8;
  wire signed [10:0] t203 = t192 + t193;
  wire signed [11:0] t204 = t194 + t195;
  wire signed [11:0] t205 = t196 + t197;
  wire signed [11:0] t206 = t199 + t200;
  wire signed [11:0] t207 = t201 + t202;
  wire signed [12:0] t208 = t203 + t204;
  wire signed [11:0] t209 = t205 + t198;
  wire signed [12:0] t210 = t206 + t207;
  wire signed [12:0] t211 = t208 + t209;
  wire signed [13:0] t212 = t210 + t211;
  wire signed [13:0] v4_4 = t212;
  assign y[13:0] = v4_0;
  assign y[27:14] = v4_1;
  assign y[41:28] = v4_2;
  assign y[55:42] = v4_3;
  assign y[69:56] = v4_4;
endmodule

// layer 3: seq_blocks_3, 5 elements of 9 bits, stage 2
module jsc_seq_blocks_3 (
  input clk,
  input [69:0] x0,
  output [44:0] y
);
  wire signed [13:0] v4_0 = $signed(x0[13:0]);
  wire signed [13:0] v4_1 = $signed(x0[27:14]);
  wire signed [13:0] v4_2 = $signed(x0[41:28]);
  wire signed [13:0] v4_3 = $signed(x0[55:42]);
  wire signed [13:0] v4_4 = $signed(x0[69:56]);
  // v5 = requant (seq_blocks_3)
  wire signed [13:0] t213 = v4_0 + 4'sd7 + $signed({1'b0, v4_0[4]});
  wire signed [9:0] t214 = t213 >>> 4;
  wire signed [8:0] v5_0 = t214 < 1'sd0 ? 1'sd0 : t214;
  wire signed [13:0] t215 = v4_1 + 4'sd7 + $signed({1'b0, v4_1[4]});
  wire signed [9:0] t216 = t215 >>> 4;
  wire signed [8:0] v5_1 = t216 < 1'sd0 ? 1'sd0 : t216 > 9'sd255 ? 9'sd255 : t216;
  wire signed [13:0] t217 = v4_2 + 4'sd7 + $signed({1'b0, v4_2[4]});
  wire signed [9:0] t218 = t217 >>> 4;
  wire signed [8:0] v5_2 = t218 < 1'sd0 ? 1'sd0 : t218 > 9'sd255 ? 9'sd255 : t218;
  wire signed [13:0] t219 = v4_3 + 4'sd7 + $signed({1'b0, v4_3[4]});
  wire signed [9:0] t220 = t219 >>> 4;
  wire signed [8:0] v5_3 = t220 < 1'sd0 ? 1'sd0 : t220 > 9'sd255 ? 9'sd255 : t220;
  wire signed [13:0] t221 = v4_4 + 4'sd7 + $signed({1'b0, v4_4[4]});
  wire signed [9:0] t222 = t221 >>> 4;
  wire signed [8:0] v5_4 = t222 < 1'sd0 ? 1'sd0 : t222;
  reg signed [8:0] r0;
  always @(posedge clk) r0 <= v5_0;
  assign y[8:0] = r0;
  reg signed [8:0] r1;
  always @(posedge clk) r1 <= v5_1;
  assign y[17:9] = r1;
  reg signed [8:0] r2;
  always @(posedge clk) r2 <= v5_2;
  assign y[26:18] = r2;
  reg signed [8:0] r3;
  always @(posedge clk) r3 <= v5_3;
  assign y[35:27] = r3;
  reg signed [8:0] r4;
  always @(posedge clk) r4 <= v5_4;
  assign y[44:36] = r4;
endmodule

module jsc (
  input clk,
  input rst,
  input valid_in,
  input [127:0] x,
  output valid_out,
  output [44:0] y
);
  wire [207:0] l0_y;
  wire [143:0] l1_y;
  wire [69:0] l2_y;
  wire [44:0] l3_y;
  jsc_seq_blocks_0 l0 (.x0(x), .y(l0_y));
  jsc_seq_blocks_1 l1 (.clk(clk), .x0(l0_y), .y(l1_y));
  jsc_seq_blocks_2 l2 (.x0(l1_y), .y(l2_y));
  jsc_seq_blocks_3 l3 (.clk(clk), .x0(l2_y), .y(l3_y));
  assign y = l3_y;
  reg [1:0] valid;
  always @(posedge clk)
    if (rst) valid <= 2'b0;
    else valid <= {valid[0:0], valid_in};
  assign valid_out = valid[1];
endmodule
