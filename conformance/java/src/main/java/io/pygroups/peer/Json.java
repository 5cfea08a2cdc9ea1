package io.pygroups.peer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Minimal JSON support so the peer has no dependencies besides JGroups.
 * Values are Map (LinkedHashMap keeps insertion order), List, String, Number, Boolean and null.
 * Output is ASCII-only (non-ASCII as \\uXXXX escapes), one document per line.
 */
public final class Json {
    private Json() {}

    /** Small builder for JSON objects: Json.obj("a", 1, "b", "x"). */
    public static Map<String,Object> obj(Object... kv) {
        Map<String,Object> m=new LinkedHashMap<>();
        for(int i=0; i < kv.length; i+=2)
            m.put((String)kv[i], kv[i+1]);
        return m;
    }

    public static String write(Object v) {
        StringBuilder sb=new StringBuilder();
        write(v, sb);
        return sb.toString();
    }

    @SuppressWarnings("unchecked")
    public static void write(Object v, StringBuilder sb) {
        if(v == null)
            sb.append("null");
        else if(v instanceof String s)
            writeString(s, sb);
        else if(v instanceof Boolean b)
            sb.append(b ? "true" : "false");
        else if(v instanceof Double || v instanceof Float) {
            double d=((Number)v).doubleValue();
            if(Double.isNaN(d) || Double.isInfinite(d))
                throw new IllegalArgumentException("JSON cannot represent " + d);
            sb.append(d);
        }
        else if(v instanceof Number n)
            sb.append(n.longValue());
        else if(v instanceof Map<?,?> m) {
            sb.append('{');
            boolean first=true;
            for(Map.Entry<?,?> e: m.entrySet()) {
                if(!first) sb.append(", ");
                first=false;
                writeString(String.valueOf(e.getKey()), sb);
                sb.append(": ");
                write(e.getValue(), sb);
            }
            sb.append('}');
        }
        else if(v instanceof List<?> l) {
            sb.append('[');
            for(int i=0; i < l.size(); i++) {
                if(i > 0) sb.append(", ");
                write(l.get(i), sb);
            }
            sb.append(']');
        }
        else
            writeString(v.toString(), sb);
    }

    static void writeString(String s, StringBuilder sb) {
        sb.append('"');
        for(int i=0; i < s.length(); i++) {
            char c=s.charAt(i);
            switch(c) {
                case '"'  -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if(c < 0x20 || c > 0x7e)
                        sb.append(String.format("\\u%04x", (int)c));
                    else
                        sb.append(c);
                }
            }
        }
        sb.append('"');
    }

    // ------------------------------------------------------------------ parser

    public static Object parse(String text) {
        Parser p=new Parser(text);
        p.ws();
        Object v=p.value();
        p.ws();
        if(p.pos != text.length())
            throw new IllegalArgumentException("trailing characters at offset " + p.pos);
        return v;
    }

    private static final class Parser {
        final String s;
        int pos;

        Parser(String s) {this.s=s;}

        void ws() {
            while(pos < s.length() && Character.isWhitespace(s.charAt(pos)))
                pos++;
        }

        char peek() {
            if(pos >= s.length())
                throw new IllegalArgumentException("unexpected end of JSON");
            return s.charAt(pos);
        }

        void expect(char c) {
            if(peek() != c)
                throw new IllegalArgumentException("expected '" + c + "' at offset " + pos);
            pos++;
        }

        Object value() {
            char c=peek();
            switch(c) {
                case '{': return object();
                case '[': return array();
                case '"': return string();
                case 't': literal("true"); return Boolean.TRUE;
                case 'f': literal("false"); return Boolean.FALSE;
                case 'n': literal("null"); return null;
                default:  return number();
            }
        }

        void literal(String lit) {
            if(!s.startsWith(lit, pos))
                throw new IllegalArgumentException("bad literal at offset " + pos);
            pos+=lit.length();
        }

        Map<String,Object> object() {
            expect('{');
            Map<String,Object> m=new LinkedHashMap<>();
            ws();
            if(peek() == '}') {pos++; return m;}
            for(;;) {
                ws();
                String k=string();
                ws();
                expect(':');
                ws();
                m.put(k, value());
                ws();
                if(peek() == ',') {pos++; continue;}
                expect('}');
                return m;
            }
        }

        List<Object> array() {
            expect('[');
            List<Object> l=new ArrayList<>();
            ws();
            if(peek() == ']') {pos++; return l;}
            for(;;) {
                ws();
                l.add(value());
                ws();
                if(peek() == ',') {pos++; continue;}
                expect(']');
                return l;
            }
        }

        String string() {
            expect('"');
            StringBuilder sb=new StringBuilder();
            for(;;) {
                char c=peek();
                pos++;
                if(c == '"')
                    return sb.toString();
                if(c != '\\') {
                    sb.append(c);
                    continue;
                }
                char e=peek();
                pos++;
                switch(e) {
                    case '"', '\\', '/' -> sb.append(e);
                    case 'b' -> sb.append('\b');
                    case 'f' -> sb.append('\f');
                    case 'n' -> sb.append('\n');
                    case 'r' -> sb.append('\r');
                    case 't' -> sb.append('\t');
                    case 'u' -> {
                        if(pos + 4 > s.length())
                            throw new IllegalArgumentException("bad \\u escape");
                        sb.append((char)Integer.parseInt(s.substring(pos, pos + 4), 16));
                        pos+=4;
                    }
                    default -> throw new IllegalArgumentException("bad escape \\" + e);
                }
            }
        }

        Object number() {
            int start=pos;
            while(pos < s.length() && "+-0123456789.eE".indexOf(s.charAt(pos)) >= 0)
                pos++;
            String t=s.substring(start, pos);
            if(t.isEmpty())
                throw new IllegalArgumentException("unexpected character at offset " + start);
            if(t.contains(".") || t.contains("e") || t.contains("E"))
                return Double.parseDouble(t);
            return Long.parseLong(t);
        }
    }
}
